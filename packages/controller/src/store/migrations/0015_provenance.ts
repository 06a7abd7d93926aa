import { sql, type Kysely } from 'kysely';

/**
 * Signed provenance (issue 15): the instance's Ed25519 signing keys (private half sealed with the
 * encryption key, so every replica signs with the same key; retired keys kept for verification)
 * and each artifact's signed statement, issued once.
 */
export async function up(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const bytes = dialect === 'postgres' ? sql`bytea` : sql`blob`;
  await db.schema
    .createTable('provenance_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('public_key_pem', 'text', (c) => c.notNull())
    .addColumn('private_sealed', bytes, (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('retired_at', 'text')
    .execute();
  await db.schema
    .createTable('artifact_provenance')
    .addColumn('artifact_id', 'text', (c) => c.primaryKey())
    .addColumn('build_id', 'text', (c) => c.notNull())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('envelope', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('artifact_provenance_build').on('artifact_provenance').column('build_id').execute();
}
