import type { Kysely } from 'kysely';

/**
 * queue_lanes_platform carried the lane's whole label set as its last column (a covering index for the
 * shared pool's read of a platform's lanes). A label set the contract allows (64 labels of 128
 * characters) is far larger than a PostgreSQL btree row may be (2,704 bytes): such a submit answered
 * 500. `label_key` already names the set; the labels are read from the lane's row.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('queue_lanes_platform').execute();
  await db.schema.createIndex('queue_lanes_platform').on('queue_lanes').columns(['platform', 'label_key', 'org_id']).execute();
}
