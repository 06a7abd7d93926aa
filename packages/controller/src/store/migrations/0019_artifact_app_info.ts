import type { Kysely } from 'kysely';

/**
 * An .ipa remembers what its Info.plist says (bundle identifier, version, build number, title), read
 * by the worker at upload: what the iOS over-the-air install manifest names. Null on every other
 * artifact and on every .ipa uploaded before.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const column of ['app_bundle_id', 'app_version', 'app_build', 'app_title']) {
    await db.schema.alterTable('artifacts').addColumn(column, 'text').execute();
  }
}
