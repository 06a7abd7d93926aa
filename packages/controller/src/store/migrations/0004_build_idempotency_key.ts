import type { Kysely } from 'kysely';

/**
 * Builds remember the idempotency key their submit carried (the Idempotency-Key header), unique
 * per org: a submit retried after a lost response finds the first build instead of creating a
 * second. Builds without a key (older rows, retries, clients that send none) hold null, which both
 * SQLite and PostgreSQL let repeat in a unique index.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('builds').addColumn('idempotency_key', 'text').execute();
  await db.schema.createIndex('builds_org_idempotency_key').on('builds').columns(['org_id', 'idempotency_key']).unique().execute();
}
