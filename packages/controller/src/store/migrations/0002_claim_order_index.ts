import type { Kysely } from 'kysely';

/**
 * The claim scan orders queued builds by `priority desc, id asc`. The first
 * queue index has `priority` ascending, so SQLite could not walk it in that
 * order and sorted every queued build of the platform on every claim (≈1 ms per
 * claim with 2,000 queued). This index matches the ORDER BY, so a claim reads
 * only the rows it looks at. It serves every query the old one did (same
 * equality prefix), so the old one goes.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('builds_claim_order').on('builds').columns(['status', 'platform', 'priority desc', 'id']).execute();
  await db.schema.dropIndex('builds_queue').execute();
}
