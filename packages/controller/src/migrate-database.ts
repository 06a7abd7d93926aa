/**
 * `buildmesh migrate`: applies pending migrations to the configured store
 * (PostgreSQL from BUILDMESH_DATABASE_URL, else the data dir's SQLite file) as an
 * operation of its own, before replicas of a new version start. Idempotent; the
 * Migrator's lock (a transaction-scoped advisory lock on PostgreSQL) makes two
 * concurrent runs, or a run racing a starting replica, apply each migration once.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DATABASE_FILE } from './backup.js';
import { openPostgresStore, redactDatabaseUrl } from './store/postgres.js';
import { openSqliteStore } from './store/sqlite.js';
import { refuseNewerSchema } from './store/migrate.js';
import type { MigrationStatus, Store } from './store/store.js';

export interface MigrateReport extends MigrationStatus {
  store: 'sqlite' | 'postgres';
  /** Where: the redacted database URL or the SQLite file. */
  target: string;
  /** Migrations this run applied (empty with status only, or when nothing was pending). */
  ran: string[];
}

export async function migrateDatabase(target: { databaseUrl: string | null; dataDir: string }, options: { statusOnly: boolean }): Promise<MigrateReport> {
  let store: Store;
  let where: string;
  if (target.databaseUrl) {
    where = redactDatabaseUrl(target.databaseUrl);
    store = await openPostgresStore(target.databaseUrl, { migrate: false, poolSize: 2, applicationName: 'buildmesh migrate' }).catch((err: Error) => {
      throw new Error(`PostgreSQL at ${where}: ${err.message}`);
    });
  } else {
    where = join(target.dataDir, DATABASE_FILE);
    if (options.statusOnly && !existsSync(where)) {
      const { KNOWN_MIGRATIONS } = await import('./store/migrate.js');
      return { store: 'sqlite', target: where, applied: [], pending: [...KNOWN_MIGRATIONS], unknown: [], ran: [] };
    }
    store = await openSqliteStore(where, { migrate: false });
  }
  try {
    const before = await store.migrationStatus();
    if (options.statusOnly) return { store: store.dialect, target: where, ...before, ran: [] };
    refuseNewerSchema(before);
    const ran = await store.migrate();
    return { store: store.dialect, target: where, ...(await store.migrationStatus()), ran };
  } finally {
    await store.close();
  }
}
