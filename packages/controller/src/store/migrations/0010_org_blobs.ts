import type { Kysely } from 'kysely';

/**
 * Which org uploaded which blob (content-addressed uploads): a blob's presence
 * is answered per org, so asking about another org's hash learns nothing.
 */
export async function up(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  await db.schema
    .createTable('org_blobs')
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('size', dialect === 'postgres' ? 'bigint' : 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('org_blobs_pk', ['org_id', 'sha256'])
    .execute();
}
