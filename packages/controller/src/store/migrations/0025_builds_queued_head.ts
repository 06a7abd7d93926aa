import { sql, type Kysely } from 'kysely';

/**
 * PostgreSQL: each lane's queued builds in claim order, in an index that holds nothing else. The
 * one-statement claim (claim-org-pg.ts) probes a lane's head with `status = 'queued'`; with the
 * table's statistics behind its growth, PostgreSQL planned that probe on builds_org_platform, reading
 * and sorting every build the org ever ran on the platform (1.3 ms at 3,200 builds, and growing with
 * history). This index is as small as the queue, so it is the cheapest path whatever the history, and
 * claims and finishes, which move builds out of `queued`, add nothing to it. SQLite's planner already
 * takes builds_lane there (tested in queue-position-at-1-and-50000-reads-the-same-bounded-rows).
 */
export async function up(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  if (dialect !== 'postgres') return;
  await sql`create index builds_queued_head on builds (org_id, platform, label_key, priority desc, id) where status = 'queued'`.execute(db);
}
