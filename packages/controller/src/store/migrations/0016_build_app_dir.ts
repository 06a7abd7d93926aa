import type { Kysely } from 'kysely';

/**
 * Builds remember where the app is inside their source (a monorepo packed from its git root:
 * `apps/mobile`); the worker installs at the source root and builds in that folder. Null: the app
 * is the source root (every older build).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('builds').addColumn('app_dir', 'text').execute();
}
