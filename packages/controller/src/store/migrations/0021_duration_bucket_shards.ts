import { sql, type Kysely } from 'kysely';

/**
 * Histogram buckets get a shard in their key. Every finish adds to the same few rows (the queue-wait
 * and run-time bucket of its platform); on PostgreSQL each finish held those rows' locks until its
 * commit, so racing finishes on all replicas queued behind one another. PostgreSQL's finish adds to
 * one of a few shards picked at random (finish-running-pg.ts); SQLite (one writer) keeps shard 0.
 * Readers add the shards up (stats/histograms.ts sums rows of one bucket already). SQLite cannot
 * change a primary key in place: the table is rebuilt (create, copy, drop, rename), as in 0018.
 */
export async function up(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const big = dialect === 'postgres' ? sql`bigint` : sql`integer`;
  await db.schema
    .createTable('duration_buckets_sharded')
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('platform', 'text', (c) => c.notNull())
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('bucket', 'integer', (c) => c.notNull())
    .addColumn('shard', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('n', big, (c) => c.notNull())
    .addColumn('total_ms', big, (c) => c.notNull())
    .addPrimaryKeyConstraint('duration_buckets_sharded_pk', ['metric', 'platform', 'label', 'bucket', 'shard'])
    .execute();
  await sql`insert into duration_buckets_sharded (metric, platform, label, bucket, shard, n, total_ms)
            select metric, platform, label, bucket, 0, n, total_ms from duration_buckets`.execute(db);
  await db.schema.dropTable('duration_buckets').execute();
  await db.schema.alterTable('duration_buckets_sharded').renameTo('duration_buckets').execute();
}
