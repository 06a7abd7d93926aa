import type { Kysely } from 'kysely';

/**
 * Remote app versions (issue 12): eas.json `cli.appVersionSource: "remote"` keeps each project's
 * build version (Android versionCode, iOS buildNumber) here, one row per project and platform;
 * `autoIncrement` raises it when a build is submitted.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('app_versions')
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('platform', 'text', (c) => c.notNull())
    .addColumn('build_version', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('app_versions_pk', ['project_id', 'platform'])
    .execute();
}
