import type { Kysely } from 'kysely';

/**
 * Workers record the executor they run builds in (a `none` worker never serves another org, so the
 * claim route must know it) and the enrollment token that enrolled them (revoking that token can
 * revoke its workers). Rows from before this migration: executor `none` until the worker's next
 * hello reports it, enrollment token unknown (null).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('workers').addColumn('executor', 'text', (c) => c.notNull().defaultTo('none')).execute();
  await db.schema.alterTable('workers').addColumn('enrollment_token_id', 'text').execute();
  await db.schema.createIndex('workers_enrollment_token').on('workers').column('enrollment_token_id').execute();
}
