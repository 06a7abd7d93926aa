import { sql, type Kysely } from 'kysely';

/**
 * Webhooks (issue 14): an org's endpoints and their durable outbox. A state change
 * writes its deliveries in the same transaction as the change (queries/webhook-events.ts),
 * so a delivery survives a crash between the commit and the send; the deliverer
 * (scheduler/webhook-deliverer.ts) claims due rows, sends, and records each result.
 */
export async function up(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const bytes = dialect === 'postgres' ? sql`bytea` : sql`blob`;
  await db.schema
    .createTable('webhooks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
    .addColumn('project_id', 'text')
    .addColumn('url', 'text', (c) => c.notNull())
    // JSON array of event names; matched with LIKE '%"build.queued"%' on the state-change path.
    .addColumn('events', 'text', (c) => c.notNull())
    .addColumn('secret_sealed', bytes, (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('webhooks_org').on('webhooks').column('org_id').execute();
  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('webhook_id', 'text', (c) => c.notNull())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    // pending → delivered | failed (gave up after the retry window)
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', 'text')
    .addColumn('last_status_code', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('last_latency_ms', 'integer')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('delivered_at', 'text')
    .execute();
  await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['status', 'next_attempt_at']).execute();
  await db.schema.createIndex('webhook_deliveries_webhook').on('webhook_deliveries').columns(['webhook_id', 'id']).execute();
  // worker.online / worker.offline are sent on a change of this column (queries/worker-presence.ts).
  await db.schema.alterTable('workers').addColumn('presence', 'text').execute();
}
