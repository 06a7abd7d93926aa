import type { Kysely } from 'kysely';

/**
 * A webhook's next due delivery is one index seek (webhook, pending, due time, id): the deliverer's
 * claim reads each webhook's head instead of grouping every pending delivery of the instance, so a
 * webhook with tens of thousands waiting costs a claim no more than one with a single delivery.
 * The instance-wide (status, due time) index that pass read has no reader left: dropped, one index less
 * to write with every outbox row.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('webhook_deliveries_webhook_due')
    .on('webhook_deliveries')
    .columns(['webhook_id', 'status', 'next_attempt_at', 'id'])
    .execute();
  await db.schema.dropIndex('webhook_deliveries_due').execute();
}
