/**
 * `buildmesh migrate-store`: moves an embedded install (the SQLite database in a
 * data dir, and optionally its blobs) into PostgreSQL for the scale-out setup.
 *
 * - Every table the schema has is copied in foreign-key order, row for row, in
 *   primary-key order and batches; `ON CONFLICT DO NOTHING` makes a re-run resume
 *   where an interrupted one stopped (rows already there are skipped).
 * - The target must be empty, or hold only an earlier, interrupted copy of the
 *   same install (recognised by the install id recorded in both); anything else is
 *   refused unless `intoNonEmpty` is given.
 * - Afterwards every table is verified: same row count and the same sha256 over
 *   all rows in key order on both sides. Blobs are copied through a temp file,
 *   hashed while copying and renamed into place only when the hash is their name.
 * Derived tables are not copied: build_count_deltas is rebuilt by the target's
 * triggers as builds arrive. Stop the embedded controller first.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';
import { DATABASE_FILE } from './backup.js';
import { openPostgresStore, redactDatabaseUrl } from './store/postgres.js';
import { openSqliteStore } from './store/sqlite.js';

/** Tables that are bookkeeping or derived, never copied. */
const NOT_COPIED = new Set(['buildmesh_migrations', 'buildmesh_migrations_lock', 'build_count_deltas']);
const INSTALL_ID = 'install_id';
const COPY_MARKER = 'store_copy_from';
const BATCH_ROWS = 500;
const PG_MAX_PARAMS = 60_000;

export interface MigrateStoreOptions {
  /** The embedded data dir (holding controller.db and blobs/). */
  from: string;
  /** postgres:// URL of the target database. */
  to: string;
  /** Copy the blobs into this directory (the replicas' shared blob dir) or bucket (s3://…, as BUILDMESH_BLOB_URL); null = leave them where they are. */
  blobsTo: string | null;
  /** Copy into a database that already holds other data. */
  intoNonEmpty?: boolean;
  onProgress?: (message: string) => void;
}

export interface TableReport {
  table: string;
  rows: number;
  /** sha256 over every row in key order, equal on both sides. */
  sha256: string;
}

export interface MigrateStoreReport {
  from: string;
  to: string;
  /** An earlier, interrupted copy of the same install was continued. */
  resumed: boolean;
  tables: TableReport[];
  blobs: { files: number; copied: number; bytes: number } | null;
}

interface TableInfo {
  name: string;
  columns: string[];
  primaryKey: string[];
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Tables in an order where every referenced table comes before the tables that reference it. */
function sourceTables(db: BetterSqlite3.Database): TableInfo[] {
  const names = (db.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name").all() as Array<{ name: string }>)
    .map((r) => r.name)
    .filter((n) => !NOT_COPIED.has(n));
  const deps = new Map<string, string[]>();
  const infos = new Map<string, TableInfo>();
  for (const name of names) {
    const columns = db.prepare(`pragma table_info(${quote(name)})`).all() as Array<{ name: string; pk: number }>;
    const primaryKey = columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);
    infos.set(name, { name, columns: columns.map((c) => c.name), primaryKey: primaryKey.length ? primaryKey : columns.map((c) => c.name) });
    deps.set(name, (db.prepare(`pragma foreign_key_list(${quote(name)})`).all() as Array<{ table: string }>).map((f) => f.table).filter((t) => t !== name));
  }
  const ordered: TableInfo[] = [];
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name) || !infos.has(name)) return;
    seen.add(name);
    for (const dep of deps.get(name) ?? []) visit(dep);
    ordered.push(infos.get(name)!);
  };
  for (const name of names) visit(name);
  return ordered;
}

/** One row, canonically: the same bytes from SQLite and from PostgreSQL. */
function rowDigestInput(row: Record<string, unknown>, columns: string[]): string {
  return columns
    .map((c) => {
      const v = row[c];
      if (v === null || v === undefined) return '\u0000';
      if (Buffer.isBuffer(v)) return `x${v.toString('hex')}`;
      return `v${String(v)}`;
    })
    .join('\u001f');
}

async function pgColumns(pool: pg.Pool, table: string): Promise<Set<string>> {
  const r = await pool.query<{ column_name: string }>('select column_name from information_schema.columns where table_schema = current_schema() and table_name = $1', [table]);
  return new Set(r.rows.map((x) => x.column_name));
}

async function insertBatch(pool: pg.Pool, table: string, columns: string[], rows: Array<Record<string, unknown>>): Promise<void> {
  if (rows.length === 0) return;
  const params: unknown[] = [];
  const tuples = rows.map((row) => `(${columns.map((c) => (params.push(row[c] ?? null), `$${params.length}`)).join(', ')})`);
  await pool.query(`insert into ${quote(table)} (${columns.map(quote).join(', ')}) values ${tuples.join(', ')} on conflict do nothing`, params);
}

/** Row count and sha256 of a PostgreSQL table, read in key order (byte order for text keys, as SQLite sorts) in pages. */
async function pgDigest(pool: pg.Pool, t: TableInfo, columns: string[], skip: (row: Record<string, unknown>) => boolean): Promise<{ rows: number; sha256: string }> {
  const hash = createHash('sha256');
  const textKeys = await keyTypes(pool, t);
  const key = t.primaryKey.map((c, i) => (textKeys[i] ? `${quote(c)} collate "C"` : quote(c))).join(', ');
  let rows = 0;
  let after: unknown[] | null = null;
  for (;;) {
    const where = after ? `where (${key}) > (${after.map((_, i) => `$${i + 1}`).join(', ')})` : '';
    const r: pg.QueryResult<Record<string, unknown>> = await pool.query(
      `select ${columns.map(quote).join(', ')} from ${quote(t.name)} ${where} order by ${key} limit 1000`,
      after ?? [],
    );
    for (const row of r.rows) {
      if (skip(row)) continue;
      hash.update(rowDigestInput(row, columns) + '\u001e');
      rows++;
    }
    if (r.rows.length < 1000) break;
    const last = r.rows[r.rows.length - 1]!;
    after = t.primaryKey.map((c) => last[c]);
  }
  return { rows, sha256: hash.digest('hex') };
}

const keyTypeCache = new Map<string, boolean[]>();
async function keyTypes(pool: pg.Pool, t: TableInfo): Promise<boolean[]> {
  const cached = keyTypeCache.get(t.name);
  if (cached) return cached;
  const r = await pool.query<{ column_name: string; data_type: string }>(
    'select column_name, data_type from information_schema.columns where table_schema = current_schema() and table_name = $1',
    [t.name],
  );
  const types = new Map(r.rows.map((x) => [x.column_name, x.data_type]));
  const result = t.primaryKey.map((c) => types.get(c) === 'text');
  keyTypeCache.set(t.name, result);
  return result;
}

function sqliteDigest(db: BetterSqlite3.Database, t: TableInfo, columns: string[], skip: (row: Record<string, unknown>) => boolean): { rows: number; sha256: string } {
  const hash = createHash('sha256');
  let rows = 0;
  const statement = db.prepare(`select ${columns.map(quote).join(', ')} from ${quote(t.name)} order by ${t.primaryKey.map(quote).join(', ')}`);
  for (const row of statement.iterate() as Iterable<Record<string, unknown>>) {
    if (skip(row)) continue;
    hash.update(rowDigestInput(row, columns) + '\u001e');
    rows++;
  }
  return { rows, sha256: hash.digest('hex') };
}

export async function migrateStore(options: MigrateStoreOptions): Promise<MigrateStoreReport> {
  const progress = options.onProgress ?? (() => undefined);
  const sourceFile = join(options.from, DATABASE_FILE);
  if (!existsSync(sourceFile)) throw new Error(`${options.from} holds no BuildMesh database (${DATABASE_FILE})`);
  const to = redactDatabaseUrl(options.to);

  // Both sides at the latest schema first, so their tables match column for column.
  await (await openSqliteStore(sourceFile)).close();
  const target = await openPostgresStore(options.to, { poolSize: 4, applicationName: 'buildmesh migrate-store' }).catch((err: Error) => {
    throw new Error(`PostgreSQL at ${to}: ${err.message}`);
  });
  const pool = target.pool;
  const source = new BetterSqlite3(sourceFile, { fileMustExist: true });
  try {
    // The install's identity, so a re-run recognises its own half-finished copy.
    source.prepare('insert into instance_meta (name, value, created_at) values (?, ?, ?) on conflict (name) do nothing').run(INSTALL_ID, randomBytes(16), new Date().toISOString());
    const installId = (source.prepare('select value from instance_meta where name = ?').get(INSTALL_ID) as { value: Buffer }).value;
    const tables = sourceTables(source);

    const marker = await pool.query<{ value: Buffer }>('select value from instance_meta where name = $1', [COPY_MARKER]);
    const resumed = marker.rows.length > 0 && Buffer.from(marker.rows[0]!.value).equals(installId);
    let targetWasEmpty = true;
    if (!resumed) {
      const busy: string[] = [];
      for (const t of tables) {
        const r = await pool.query<{ n: number }>(`select count(*)::int as n from ${quote(t.name)}`);
        if (r.rows[0]!.n > 0) busy.push(`${t.name} (${r.rows[0]!.n})`);
      }
      if (busy.length > 0) {
        if (!options.intoNonEmpty) {
          throw new Error(
            `the target database is not empty: ${busy.join(', ')}. Copy into a new, empty database ` +
              '(a replica started on it already creates the default org and admin token), or pass --into-non-empty to merge',
          );
        }
        targetWasEmpty = false;
      }
      await pool.query('insert into instance_meta (name, value, created_at) values ($1, $2, $3) on conflict (name) do update set value = excluded.value', [
        COPY_MARKER,
        installId,
        new Date().toISOString(),
      ]);
    }
    progress(resumed ? `resuming an interrupted copy into ${to}` : `copying into ${to}`);

    const report: TableReport[] = [];
    const isMarker = (table: string) => (row: Record<string, unknown>) => table === 'instance_meta' && row.name === COPY_MARKER;
    for (const t of tables) {
      const targetColumns = await pgColumns(pool, t.name);
      const missing = t.columns.filter((c) => !targetColumns.has(c));
      if (missing.length > 0) throw new Error(`the target's ${t.name} lacks ${missing.join(', ')}: is it migrated by an older BuildMesh?`);
      const columns = t.columns;
      const perBatch = Math.max(1, Math.min(BATCH_ROWS, Math.floor(PG_MAX_PARAMS / columns.length)));
      let batch: Array<Record<string, unknown>> = [];
      let copied = 0;
      // Read with a second connection so the iterator's read transaction is the only thing on this one.
      const reader = new BetterSqlite3(sourceFile, { readonly: true, fileMustExist: true });
      try {
        const rows = reader.prepare(`select ${columns.map(quote).join(', ')} from ${quote(t.name)} order by ${t.primaryKey.map(quote).join(', ')}`).iterate() as Iterable<Record<string, unknown>>;
        for (const row of rows) {
          batch.push(row);
          if (batch.length >= perBatch) {
            await insertBatch(pool, t.name, columns, batch);
            copied += batch.length;
            batch = [];
          }
        }
        await insertBatch(pool, t.name, columns, batch);
        copied += batch.length;
      } finally {
        reader.close();
      }
      progress(`${t.name}: ${copied} rows`);
    }

    // Verify: counts and checksums over every row, in key order, on both sides.
    for (const t of tables) {
      const columns = [...t.columns].sort();
      const skip = isMarker(t.name);
      const a = sqliteDigest(source, t, columns, skip);
      const b = await pgDigest(pool, t, columns, skip);
      // Into a non-empty target (--into-non-empty) only "every source row arrived" can be checked.
      const comparable = targetWasEmpty;
      if (comparable && (a.rows !== b.rows || a.sha256 !== b.sha256)) {
        throw new Error(`verification failed for ${t.name}: ${a.rows} rows (sha256 ${a.sha256.slice(0, 12)}…) in the source, ${b.rows} (${b.sha256.slice(0, 12)}…) in the target`);
      }
      if (!comparable && b.rows < a.rows) throw new Error(`verification failed for ${t.name}: ${a.rows} rows in the source, only ${b.rows} in the target`);
      report.push({ table: t.name, rows: a.rows, sha256: a.sha256 });
    }
    progress('every table verified (row counts and sha256)');

    const blobs = !options.blobsTo
      ? null
      : options.blobsTo.startsWith('s3://')
        ? await copyBlobsToS3(join(options.from, 'blobs'), options.blobsTo, progress)
        : await copyBlobs(join(options.from, 'blobs'), options.blobsTo, progress);
    return { from: options.from, to, resumed, tables: report, blobs };
  } finally {
    source.close();
    await target.close();
  }
}

/**
 * Copies every blob file into an S3 bucket (the replicas' BUILDMESH_BLOB_URL) that lacks it; the S3 blob store
 * checks each one's sha256 (its name) and size on the way, so a damaged file is refused, never stored.
 */
async function copyBlobsToS3(fromRoot: string, blobUrl: string, progress: (m: string) => void): Promise<{ files: number; copied: number; bytes: number }> {
  const { S3BlobStore } = await import('./blobs/s3.js');
  const store = await S3BlobStore.open(blobUrl);
  const from = join(fromRoot, 'sha256');
  let files = 0;
  let copied = 0;
  let bytes = 0;
  try {
    for (const prefix of existsSync(from) ? await readdir(from) : []) {
      for (const name of await readdir(join(from, prefix))) {
        if (!/^[0-9a-f]{64}$/.test(name)) continue;
        files++;
        const src = join(from, prefix, name);
        const size = (await stat(src)).size;
        if ((await store.stat(name))?.size === size) continue; // copied by an earlier run (visible only once verified)
        try {
          await store.put(createReadStream(src), { maxBytes: size, expectedSha256: name, expectedSize: size });
        } catch (err) {
          if ((err as { code?: string }).code === 'CHECKSUM_MISMATCH') throw new Error(`blob ${name} is damaged in the source (its bytes hash to something else)`);
          throw err;
        }
        copied++;
        bytes += size;
      }
    }
  } finally {
    store.client.destroy();
  }
  progress(`blobs: ${copied} copied to ${store.location.bucket}, ${files - copied} already there`);
  return { files, copied, bytes };
}

/** Copies every blob file (content-addressed) that the target lacks, verifying its sha256 on the way. */
async function copyBlobs(fromRoot: string, toRoot: string, progress: (m: string) => void): Promise<{ files: number; copied: number; bytes: number }> {
  const from = join(fromRoot, 'sha256');
  const to = join(toRoot, 'sha256');
  const tmp = join(toRoot, 'tmp');
  await mkdir(tmp, { recursive: true, mode: 0o700 });
  let files = 0;
  let copied = 0;
  let bytes = 0;
  const prefixes = existsSync(from) ? await readdir(from) : [];
  for (const prefix of prefixes) {
    for (const name of await readdir(join(from, prefix))) {
      if (!/^[0-9a-f]{64}$/.test(name)) continue;
      files++;
      const src = join(from, prefix, name);
      const dst = join(to, prefix, name);
      const size = (await stat(src)).size;
      if (existsSync(dst) && (await stat(dst)).size === size) continue; // copied by an earlier run (renamed only once verified)
      await mkdir(join(to, prefix), { recursive: true, mode: 0o700 });
      const part = join(tmp, `migrate-${randomBytes(8).toString('hex')}.part`);
      const hash = createHash('sha256');
      try {
        await pipeline(
          createReadStream(src),
          new Transform({
            transform(chunk: Buffer, _enc, done) {
              hash.update(chunk);
              done(null, chunk);
            },
          }),
          createWriteStream(part, { mode: 0o600 }),
        );
        const digest = hash.digest('hex');
        if (digest !== name) throw new Error(`blob ${name} is damaged in the source (its bytes hash to ${digest})`);
        await rename(part, dst);
      } finally {
        await rm(part, { force: true });
      }
      copied++;
      bytes += size;
    }
  }
  progress(`blobs: ${copied} copied, ${files - copied} already there`);
  return { files, copied, bytes };
}
