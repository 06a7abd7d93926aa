/**
 * Numbered migrations, run on every start inside Kysely's Migrator (it takes a
 * lock, so replicas starting together apply each migration once).
 */
import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import * as m0001 from './migrations/0001_initial.js';
import * as m0002 from './migrations/0002_claim_order_index.js';
import * as m0004 from './migrations/0004_build_idempotency_key.js';

type Step = { up(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> };
const STEPS: Record<string, Step> = {
  '0001_initial': m0001,
  '0002_claim_order_index': m0002,
  '0004_build_idempotency_key': m0004,
};

export async function migrate(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const provider: MigrationProvider = {
    async getMigrations() {
      const migrations: Record<string, Migration> = {};
      for (const [name, step] of Object.entries(STEPS)) migrations[name] = { up: (d) => step.up(d, dialect) };
      return migrations;
    },
  };
  const { error, results } = await new Migrator({ db, provider, migrationTableName: 'buildmesh_migrations', migrationLockTableName: 'buildmesh_migrations_lock' }).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${String((error as Error)?.message ?? error)}`);
}
