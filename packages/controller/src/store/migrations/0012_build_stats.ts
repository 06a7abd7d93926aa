import { sql, type Kysely } from 'kysely';

/**
 * Build and phase statistics (issue 14):
 * - attempt_phases: the phases a worker reports when it finishes an attempt (name, result, duration);
 * - duration_buckets: Prometheus histogram buckets (queue wait, build and phase duration by platform),
 *   incremented in the finish's own transaction, so every replica's /metrics reads the same monotonic
 *   counts from the store (stats/histograms.ts);
 * - an index for GET /v1/stats' window of an org's ended builds.
 */
export async function up(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const big = dialect === 'postgres' ? sql`bigint` : sql`integer`;
  await db.schema
    .createTable('attempt_phases')
    .addColumn('attempt_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('build_id', 'text', (c) => c.notNull())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('platform', 'text', (c) => c.notNull())
    .addColumn('profile', 'text', (c) => c.notNull())
    .addColumn('phase', 'text', (c) => c.notNull())
    .addColumn('result', 'text', (c) => c.notNull())
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addColumn('finished_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('attempt_phases_pk', ['attempt_id', 'seq'])
    .execute();
  await db.schema.createIndex('attempt_phases_org_finished').on('attempt_phases').columns(['org_id', 'finished_at']).execute();
  await db.schema.createIndex('attempt_phases_build').on('attempt_phases').column('build_id').execute();
  await db.schema
    .createTable('duration_buckets')
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('platform', 'text', (c) => c.notNull())
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('bucket', 'integer', (c) => c.notNull())
    .addColumn('n', big, (c) => c.notNull())
    .addColumn('total_ms', big, (c) => c.notNull())
    .addPrimaryKeyConstraint('duration_buckets_pk', ['metric', 'platform', 'label', 'bucket'])
    .execute();
  await db.schema.createIndex('builds_org_finished').on('builds').columns(['org_id', 'finished_at']).execute();
}
