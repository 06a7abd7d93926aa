/**
 * The embedded default: one SQLite file in WAL mode. With synchronous=NORMAL (the
 * default) a commit is in the WAL, handed to the OS, before it returns, so every
 * acknowledged write survives a crash of the process (kill -9); only a power
 * loss or OS crash can take back the last commits. FULL adds an fsync per commit
 * (power-loss safe), which the event loop waits for (better-sqlite3 is
 * synchronous): 0.3–2+ ms a write on common disks. busy_timeout covers a backup
 * tool or the sqlite3 CLI holding a lock for a moment. temp_store=MEMORY keeps
 * statement journals off /var/tmp (a file created and removed every other submit).
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { KyselyStore } from './kysely-store.js';
import { CachingSqliteDatabase } from './statement-cache.js';
import type { Database } from './schema.js';
import type { Store } from './store.js';

export async function openSqliteStore(file: string, options: { synchronous?: 'FULL' | 'NORMAL'; migrate?: boolean } = {}): Promise<Store> {
  if (file !== ':memory:') makePrivate(file);
  const database = new BetterSqlite3(file);
  database.pragma('journal_mode = WAL');
  database.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
  database.pragma('busy_timeout = 5000');
  database.pragma('foreign_keys = ON');
  database.pragma('temp_store = MEMORY');
  const store = new KyselyStore(new Kysely<Database>({ dialect: new SqliteDialect({ database: new CachingSqliteDatabase(database) }) }), 'sqlite');
  if (options.migrate ?? true) await store.migrate();
  return store;
}

/**
 * The database holds every org's sealed secrets and token hashes: owner-only (0600, its dir 0700).
 * SQLite gives the -wal and -shm files it creates the database file's mode, so creating the file
 * 0600 first covers them; files from an older version are tightened here.
 */
function makePrivate(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
}
