import { sql, type Kysely } from 'kysely';
import { labelKey } from '../label-key.js';

/**
 * Costs that stay flat as the queue and the logs grow (docs/operations.md, "Scaling"):
 * - builds.label_key + queue_lanes: a claim probes one index range per label set a
 *   worker can take instead of scanning builds it cannot; queue position counts per lane.
 * - one index per list filter, and one for the ETA's recent finished builds.
 * - build_count_deltas, kept by triggers: /metrics sums a few rows instead of counting builds.
 * - log_batches.size and a covering index: log pages plan their reads from the index.
 * Only queued and running builds get their label_key backfilled: ended builds never queue again.
 */
export async function up(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  await db.schema.alterTable('builds').addColumn('label_key', 'text', (c) => c.notNull().defaultTo('')).execute();
  await db.schema
    .createTable('queue_lanes')
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('platform', 'text', (c) => c.notNull())
    .addColumn('label_key', 'text', (c) => c.notNull())
    .addColumn('labels', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('queue_lanes_pk', ['org_id', 'platform', 'label_key'])
    .execute();
  await backfillLanes(db as Kysely<Backfill>);

  await db.schema.createIndex('builds_lane').on('builds').columns(['status', 'org_id', 'platform', 'label_key', 'priority desc', 'id']).execute();
  // The shared pool serves every org: it probes each (platform, label set) once, not once per org.
  await db.schema.createIndex('builds_shared_lane').on('builds').columns(['status', 'platform', 'label_key', 'priority desc', 'id']).execute();
  await db.schema.dropIndex('builds_claim_order').execute();
  await db.schema.createIndex('builds_org_status').on('builds').columns(['org_id', 'status', 'id']).execute();
  await db.schema.createIndex('builds_org_platform').on('builds').columns(['org_id', 'platform', 'id']).execute();
  await db.schema.createIndex('builds_org_profile').on('builds').columns(['org_id', 'profile_name', 'id']).execute();
  await db.schema.createIndex('builds_project').on('builds').columns(['project_id', 'id']).execute();
  await db.schema.createIndex('builds_recent_finished').on('builds').columns(['project_id', 'platform', 'status', 'finished_at']).execute();

  await db.schema.alterTable('log_batches').addColumn('size', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await sql`update log_batches set size = length(lines)`.execute(db);
  await db.schema.createIndex('log_batches_pages').on('log_batches').columns(['build_id', 'attempt_number', 'seq', 'line_count', 'size']).execute();
  await db.schema.dropIndex('log_batches_read').execute();

  await db.schema
    .createTable('build_count_deltas')
    .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) => c.primaryKey())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('platform', 'text', (c) => c.notNull())
    .addColumn('n', 'integer', (c) => c.notNull())
    .execute();
  await sql`insert into build_count_deltas (status, platform, n) select status, platform, count(*) from builds group by status, platform`.execute(db);
  for (const statement of dialect === 'postgres' ? PG_TRIGGERS : SQLITE_TRIGGERS) await sql.raw(statement).execute(db);
}

interface Backfill {
  builds: { id: string; org_id: string; platform: string; labels: string; label_key: string; status: string };
  queue_lanes: { org_id: string; platform: string; label_key: string; labels: string };
}

async function backfillLanes(db: Kysely<Backfill>): Promise<void> {
  const lanes = new Map<string, Backfill['queue_lanes']>();
  for (let after = ''; ; ) {
    const rows = await db
      .selectFrom('builds')
      .select(['id', 'org_id', 'platform', 'labels'])
      .where('status', 'in', ['queued', 'running'])
      .where('id', '>', after)
      .orderBy('id')
      .limit(1000)
      .execute();
    for (const r of rows) {
      const labels = JSON.parse(r.labels) as Record<string, string>;
      const key = labelKey(labels);
      if (key !== '') await db.updateTable('builds').set({ label_key: key }).where('id', '=', r.id).execute();
      lanes.set(`${r.org_id}\n${r.platform}\n${key}`, { org_id: r.org_id, platform: r.platform, label_key: key, labels: JSON.stringify(labels) });
    }
    if (rows.length < 1000) break;
    after = rows.at(-1)!.id;
  }
  for (const lane of lanes.values()) await db.insertInto('queue_lanes').values(lane).execute();
}

// Every change of a build's status or platform adds a -1 and a +1 row; stats() folds them together.
// Insert-only, so concurrent transactions never wait on a shared counter row.
const SQLITE_TRIGGERS = [
  `create trigger builds_count_insert after insert on builds begin
     insert into build_count_deltas (status, platform, n) values (new.status, new.platform, 1);
   end`,
  `create trigger builds_count_update after update of status, platform on builds
     when old.status is not new.status or old.platform is not new.platform begin
     insert into build_count_deltas (status, platform, n) values (old.status, old.platform, -1), (new.status, new.platform, 1);
   end`,
  `create trigger builds_count_delete after delete on builds begin
     insert into build_count_deltas (status, platform, n) values (old.status, old.platform, -1);
   end`,
];
const PG_TRIGGERS = [
  `create function buildmesh_count_builds() returns trigger language plpgsql as $$
   begin
     if tg_op in ('UPDATE', 'DELETE') then
       insert into build_count_deltas (status, platform, n) values (old.status, old.platform, -1);
     end if;
     if tg_op in ('UPDATE', 'INSERT') then
       insert into build_count_deltas (status, platform, n) values (new.status, new.platform, 1);
     end if;
     return null;
   end $$`,
  `create trigger builds_count_insert after insert or delete on builds for each row execute function buildmesh_count_builds()`,
  `create trigger builds_count_update after update of status, platform on builds for each row
     when (old.status is distinct from new.status or old.platform is distinct from new.platform) execute function buildmesh_count_builds()`,
];
