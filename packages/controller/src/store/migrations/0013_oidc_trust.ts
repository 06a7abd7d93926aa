import type { Kysely } from 'kysely';

/**
 * CI identity (issue 15): trust rules (issuer + audience + claim condition → org, role, project)
 * and, on tokens, an expiry and a project scope for the short-lived tokens an OIDC exchange mints.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('trust_rules')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('audience', 'text', (c) => c.notNull())
    .addColumn('condition', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('project', 'text')
    .addColumn('ttl_seconds', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('trust_rules_issuer').on('trust_rules').column('issuer').execute();
  await db.schema.createIndex('trust_rules_org_name').on('trust_rules').columns(['org_id', 'name']).unique().execute();
  await db.schema.alterTable('tokens').addColumn('expires_at', 'text').execute();
  await db.schema.alterTable('tokens').addColumn('project', 'text').execute();
}
