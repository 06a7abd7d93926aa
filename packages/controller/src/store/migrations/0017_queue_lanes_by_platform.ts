import type { Kysely } from 'kysely';

/**
 * A shared-pool claim compares every org's lane heads (fair share), so it reads the lanes of a
 * platform across orgs. The lanes' key starts with the org, which made that read a scan of the
 * whole table; this index serves it (and the lanes' label sets) by platform. The claim no longer
 * reads one lane across all orgs at once, so builds_shared_lane only cost every insert: it goes.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('queue_lanes_platform').on('queue_lanes').columns(['platform', 'label_key', 'org_id', 'labels']).execute();
  await db.schema.dropIndex('builds_shared_lane').execute();
}
