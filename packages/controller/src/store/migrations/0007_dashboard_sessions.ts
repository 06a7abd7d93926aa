import { sql, type Kysely } from 'kysely';

/**
 * Dashboard sessions (routes/sessions.ts): one row per sign-in, holding only the
 * sha256 of the cookie's secret. A session acts with its API token's org and role,
 * so revoking the token ends its sessions too; signing out revokes the row.
 */
export async function up(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  await db.schema
    .createTable('dashboard_sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('token_id', 'text', (c) => c.notNull().references('tokens.id'))
    .addColumn('secret_hash', dialect === 'postgres' ? sql`bytea` : sql`blob`, (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'text')
    .execute();
  await db.schema.createIndex('dashboard_sessions_expires').on('dashboard_sessions').column('expires_at').execute();
}
