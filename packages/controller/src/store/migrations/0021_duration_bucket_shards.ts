import { sql, type Kysely } from 'kysely';

/**
 * Histogram counts in shards, in a table of their own. Every finish adds to the same few
 * `duration_buckets` rows (the queue-wait and run-time bucket of its platform); on PostgreSQL each
 * finish held those rows' locks until its commit, so racing finishes on all replicas queued behind
 * one another. PostgreSQL now adds to one of a few rows per bucket, picked at random
 * (`duration_bucket_shards`); readers add both tables up (build-stats.ts). `duration_buckets` and its
 * key stay as they were: a replica of the previous release, serving beside this one during a
 * rolling upgrade, keeps upserting there. SQLite (one writer) keeps writing `duration_buckets`.
 */
export async function up(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const big = dialect === 'postgres' ? sql`bigint` : sql`integer`;
  await db.schema
    .createTable('duration_bucket_shards')
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('platform', 'text', (c) => c.notNull())
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('bucket', 'integer', (c) => c.notNull())
    .addColumn('shard', 'integer', (c) => c.notNull())
    .addColumn('n', big, (c) => c.notNull())
    .addColumn('total_ms', big, (c) => c.notNull())
    .addPrimaryKeyConstraint('duration_bucket_shards_pk', ['metric', 'platform', 'label', 'bucket', 'shard'])
    .execute();
}
