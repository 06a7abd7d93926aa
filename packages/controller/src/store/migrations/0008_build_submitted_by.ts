import type { Kysely } from 'kysely';

/**
 * Builds remember who submitted (or retried) them: the API token's name at that moment (the
 * dashboard's "submitted by"). A name, not a reference: it stays readable after the token is
 * revoked. Older builds hold null.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('builds').addColumn('submitted_by', 'text').execute();
}
