/**
 * One-command backup and restore of an embedded-mode data dir, consistent while
 * the controller runs: the database is copied with SQLite's online backup API
 * first, then the blobs. Blobs are immutable and content-addressed, so every blob
 * the database snapshot references is already on disk when it is copied (blobs
 * added later are harmless extras). The archive holds the encryption key file
 * unless told otherwise, so keep it as safe as the key itself.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { KEY_FILE_NAME } from './crypto/keyring.js';

export const DATABASE_FILE = 'controller.db';
const SNAPSHOT_DIR = 'backup-snapshot';
const BLOB_DIR = 'blobs/sha256';

export interface BackupResult {
  file: string;
  blobs: number;
  bytes: number;
  includesKey: boolean;
}

export async function backupDataDir(dataDir: string, outFile: string, options: { includeKey?: boolean } = {}): Promise<BackupResult> {
  const database = join(dataDir, DATABASE_FILE);
  if (!existsSync(database)) throw new Error(`${dataDir} holds no BuildMesh database (${DATABASE_FILE})`);
  const snapshotDir = join(dataDir, SNAPSHOT_DIR);
  rmSync(snapshotDir, { recursive: true, force: true });
  mkdirSync(snapshotDir, { mode: 0o700 });
  try {
    const db = new BetterSqlite3(database, { readonly: true, fileMustExist: true });
    try {
      await db.backup(join(snapshotDir, DATABASE_FILE));
    } finally {
      db.close();
    }
    const blobs = listFiles(join(dataDir, BLOB_DIR)).map((f) => relative(dataDir, f));
    const includesKey = (options.includeKey ?? true) && existsSync(join(dataDir, KEY_FILE_NAME));
    const entries = [join(SNAPSHOT_DIR, DATABASE_FILE), ...blobs, ...(includesKey ? [KEY_FILE_NAME] : [])];
    const { create } = await import('tar'); // on call: a controller start does not load it
    await pipeline(create({ gzip: true, cwd: dataDir, portable: true, noDirRecurse: true }, entries), createWriteStream(outFile, { mode: 0o600 }));
    return { file: outFile, blobs: blobs.length, bytes: statSync(outFile).size, includesKey };
  } finally {
    rmSync(snapshotDir, { recursive: true, force: true });
  }
}

/**
 * Restores into an empty (or absent) data dir. The archive is unpacked into a
 * staging dir first and moved into place only when every entry is one a backup
 * writes, so a bad archive leaves nothing behind.
 */
export async function restoreDataDir(archive: string, dataDir: string): Promise<{ blobs: number }> {
  if (existsSync(join(dataDir, DATABASE_FILE))) throw new Error(`${dataDir} already holds a database; restore into an empty directory`);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const staging = join(dataDir, '.restore-staging');
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { mode: 0o700 });
  try {
    const allowed = (path: string) =>
      path === `${SNAPSHOT_DIR}/${DATABASE_FILE}` || path === KEY_FILE_NAME || /^blobs\/sha256\/[0-9a-f]{2}\/[0-9a-f]{64}$/.test(path);
    const refused: string[] = [];
    let blobs = 0;
    const { extract } = await import('tar');
    await extract({
      file: archive,
      cwd: staging,
      strict: true,
      filter: (path, entry) => {
        const ok = allowed(path) && 'type' in entry && entry.type === 'File';
        if (!ok) refused.push(path);
        else if (path.startsWith('blobs/')) blobs++;
        return ok;
      },
    });
    if (refused.length > 0) throw new Error(`the archive holds entries a BuildMesh backup never writes: ${refused.slice(0, 5).join(', ')}`);
    if (!existsSync(join(staging, SNAPSHOT_DIR, DATABASE_FILE))) throw new Error('the archive holds no database snapshot');
    if (existsSync(join(staging, 'blobs'))) renameSync(join(staging, 'blobs'), join(dataDir, 'blobs'));
    if (existsSync(join(staging, KEY_FILE_NAME))) renameSync(join(staging, KEY_FILE_NAME), join(dataDir, KEY_FILE_NAME));
    // The database last: its presence is what marks the data dir as restored.
    renameSync(join(staging, SNAPSHOT_DIR, DATABASE_FILE), join(dataDir, DATABASE_FILE));
    return { blobs };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}
