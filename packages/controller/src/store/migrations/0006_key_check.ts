import { sql, type Kysely } from 'kysely';

/**
 * Instance facts that are not rows of a tenant: for now the key check, a known
 * value sealed with the encryption key, so a controller (replica) started with
 * another key refuses to run instead of failing to open credentials later.
 */
export async function up(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  await db.schema
    .createTable('instance_meta')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', dialect === 'postgres' ? sql`bytea` : sql`blob`, (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
}
