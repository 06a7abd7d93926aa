/**
 * The worker's dependency caches, on its own disk, one directory per org:
 *
 *   <cache dir>/orgs/<sha256(org id)>/<entry>/{meta.json, data/0, data/1, …}
 *   <cache dir>/toolchains/…            (Node.js and package managers: toolchains.ts)
 *
 * An entry is what one cache kind (npm store, Gradle, CocoaPods, the profile's cache.paths…) held
 * after a successful build, named by a hash of its key (kind, platform, lockfile hash, eas.json's
 * `cache.key`). Entries move, they are not copied: a restore renames the entry's directories into
 * the attempt's workspace (the entry leaves the cache: a build that fails takes it with it, and no
 * other attempt can use it meanwhile); a save after a successful build renames them back under
 * the build's key. Renames never follow what the build put inside, and a build only ever sees the
 * entries moved into its own workspace, so one org's build cannot read or write another org's.
 * Evicting keeps the total under the size limit, least recently used entries first.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LAUNCHER_ENV } from '../sandbox/local-executor.js';
import { removeTree } from '../workspace/workspace.js';

export interface CacheEntryMeta {
  /** What the entry is for, e.g. `npm`, `gradle`, `cocoapods`, `paths`. */
  kind: string;
  /** The exact key it was saved under (kind, platform, lockfile hash, cache.key), readable. */
  key: string;
  /** Entries whose `prefix` matches can stand in when the exact key misses (restore keys). */
  prefix: string;
  /** Where each data/<i> belongs, as the build saw it (`~/.npm`, `node_modules/.cache`). */
  paths: string[];
  sizeBytes: number;
  savedAt: string;
  /** The last save or restore, for least-recently-used eviction. */
  usedAt: string;
  orgId: string;
}

export interface CacheEntryInfo extends CacheEntryMeta {
  /** The entry directory's name: a hash of the key. */
  id: string;
  /** sha256(org id)[:32], the org's directory name. */
  orgDir: string;
}

/** A restored entry: data/<i> is now at `targets[i]`. */
export interface CheckedOut {
  meta: CacheEntryMeta;
  /** Whether the exact key matched (else an entry with the same prefix stood in). */
  exact: boolean;
  /** The labels actually put in place (a target that already existed keeps what it had). */
  restored: string[];
}

const ENTRY_ID = /^[0-9a-f]{40}$/;

export function orgDirName(orgId: string): string {
  return createHash('sha256').update(`org\0${orgId}`).digest('hex').slice(0, 32);
}

export function entryId(key: string): string {
  return createHash('sha256').update(`entry\0${key}`).digest('hex').slice(0, 40);
}

export class CacheStore {
  readonly orgsDir: string;

  constructor(
    readonly dir: string,
    /** Total size limit in bytes for all orgs' entries together; 0 keeps nothing. */
    readonly maxBytes: number,
  ) {
    this.orgsDir = path.join(dir, 'orgs');
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o711 });
    await mkdir(this.orgsDir, { recursive: true, mode: 0o700 });
    // Leftovers of saves a crash interrupted.
    for (const org of await readdir(this.orgsDir).catch(() => [] as string[])) {
      for (const name of await readdir(path.join(this.orgsDir, org)).catch(() => [] as string[])) {
        if (name.startsWith('.staging-') || name.startsWith('.taken-')) await removeTree(path.join(this.orgsDir, org, name));
      }
    }
  }

  private orgPath(orgId: string): string {
    return path.join(this.orgsDir, orgDirName(orgId));
  }

  /**
   * Takes the entry saved under `key` (or, failing that, the most recently used one with the same
   * prefix) out of the cache and moves its data into `targets` (absolute paths in the workspace,
   * in the order the entry's `paths` were saved; a target that already exists is left alone and
   * that part of the entry dropped). Returns undefined on a miss.
   */
  async checkout(
    orgId: string,
    /** The exact key; null: only the fallback is looked at. */
    key: string | null,
    /** Which other entries may stand in: those saved with this `prefix`, or those the function accepts (most recent first). */
    fallback: string | ((entry: CacheEntryInfo) => boolean),
    targets: (label: string) => string | undefined,
  ): Promise<CheckedOut | undefined> {
    const orgDir = this.orgPath(orgId);
    const candidates: string[] = key === null ? [] : [entryId(key)];
    const accepts = typeof fallback === 'string' ? (e: CacheEntryInfo) => e.prefix === fallback : fallback;
    let exact = true;
    let fellBack = false;
    for (;;) {
      const id = candidates.shift();
      if (!id) {
        if (fellBack) return undefined;
        fellBack = true;
        exact = false;
        const older = (await this.listOrg(orgId)).filter(accepts).sort((a, b) => b.usedAt.localeCompare(a.usedAt));
        candidates.push(...older.map((e) => e.id));
        if (!candidates.length) return undefined;
        continue;
      }
      // Take it first (an atomic rename): a concurrent attempt of the same org then misses instead of sharing.
      const taken = path.join(orgDir, `.taken-${randomBytes(6).toString('hex')}`);
      try {
        await rename(path.join(orgDir, id), taken);
      } catch {
        continue;
      }
      try {
        const meta = JSON.parse(await readFile(path.join(taken, 'meta.json'), 'utf8')) as CacheEntryMeta;
        const restored: string[] = [];
        for (const [index, label] of meta.paths.entries()) {
          const target = targets(label);
          if (!target) continue;
          const source = path.join(taken, 'data', String(index));
          if (!(await lstat(source).catch(() => undefined))?.isDirectory()) continue;
          if (await lstat(target).catch(() => undefined)) continue;
          await rename(source, target);
          restored.push(label);
        }
        return { meta, exact, restored };
      } catch {
        continue;
      } finally {
        await removeTree(taken);
      }
    }
  }

  /**
   * Saves `sources` (absolute directories in the workspace, real directories, not links) under
   * `key`, replacing what was there, then evicts down to the size limit. Returns the saved meta,
   * or undefined when nothing was there to save.
   */
  async save(
    orgId: string,
    entry: { kind: string; key: string; prefix: string },
    sources: { label: string; dir: string }[],
  ): Promise<CacheEntryMeta | undefined> {
    const orgDir = this.orgPath(orgId);
    await mkdir(orgDir, { recursive: true, mode: 0o700 });
    const staging = path.join(orgDir, `.staging-${randomBytes(6).toString('hex')}`);
    await mkdir(path.join(staging, 'data'), { recursive: true, mode: 0o700 });
    try {
      const paths: string[] = [];
      let sizeBytes = 0;
      for (const source of sources) {
        const info = await lstat(source.dir).catch(() => undefined);
        if (!info?.isDirectory()) continue;
        const dest = path.join(staging, 'data', String(paths.length));
        await rename(source.dir, dest);
        paths.push(source.label);
        sizeBytes += await diskUsage(dest);
      }
      if (!paths.length) return undefined;
      const now = new Date().toISOString();
      const meta: CacheEntryMeta = { ...entry, paths, sizeBytes, savedAt: now, usedAt: now, orgId };
      await writeFile(path.join(staging, 'meta.json'), JSON.stringify(meta));
      const final = path.join(orgDir, entryId(entry.key));
      await removeTree(final);
      await rename(staging, final);
      await this.evict();
      return meta;
    } finally {
      await removeTree(staging);
    }
  }

  /** Every entry, all orgs (or one org's). */
  async list(orgId?: string): Promise<CacheEntryInfo[]> {
    if (orgId !== undefined) return this.listOrg(orgId);
    const orgs = await readdir(this.orgsDir).catch(() => [] as string[]);
    return (await Promise.all(orgs.map((org) => this.listDir(org)))).flat();
  }

  private listOrg(orgId: string): Promise<CacheEntryInfo[]> {
    return this.listDir(orgDirName(orgId));
  }

  private async listDir(orgDir: string): Promise<CacheEntryInfo[]> {
    const names = await readdir(path.join(this.orgsDir, orgDir)).catch(() => [] as string[]);
    const entries: CacheEntryInfo[] = [];
    for (const id of names.filter((n) => ENTRY_ID.test(n))) {
      try {
        const meta = JSON.parse(await readFile(path.join(this.orgsDir, orgDir, id, 'meta.json'), 'utf8')) as CacheEntryMeta;
        entries.push({ ...meta, id, orgDir });
      } catch {
        // being written or taken right now
      }
    }
    return entries;
  }

  /** Removes entries, least recently used first, until the total fits the limit. Returns what went. */
  async evict(maxBytes = this.maxBytes): Promise<CacheEntryInfo[]> {
    const entries = (await this.list()).sort((a, b) => a.usedAt.localeCompare(b.usedAt));
    let total = entries.reduce((sum, e) => sum + e.sizeBytes, 0);
    const removed: CacheEntryInfo[] = [];
    for (const entry of entries) {
      if (total <= maxBytes) break;
      await this.remove(entry);
      total -= entry.sizeBytes;
      removed.push(entry);
    }
    return removed;
  }

  async remove(entry: Pick<CacheEntryInfo, 'orgDir' | 'id'>): Promise<void> {
    if (!ENTRY_ID.test(entry.id) || !/^[0-9a-f]{32}$/.test(entry.orgDir)) return;
    await removeTree(path.join(this.orgsDir, entry.orgDir, entry.id));
  }

  /** Removes every entry (of one org, or all); returns how many. */
  async clear(orgId?: string): Promise<number> {
    const entries = await this.list(orgId);
    for (const entry of entries) await this.remove(entry);
    return entries.length;
  }
}

/**
 * Bytes below `dir` as `du -sb` counts them (apparent sizes, links not followed: a node_modules of
 * 25 000 files in well under a second); treeSize when du is not there.
 */
export function diskUsage(dir: string): Promise<number> {
  return new Promise((resolve) => {
    execFile('du', ['-sb', '--', dir], { env: { ...LAUNCHER_ENV }, maxBuffer: 1024 * 1024 }, (err, stdout) => {
      const bytes = Number(/^(\d+)\s/.exec(stdout)?.[1]);
      if (!err && Number.isFinite(bytes)) resolve(bytes);
      else resolve(treeSize(dir));
    });
  });
}

/** Bytes of every regular file below `dir` (lstat: links are not followed, and count as nothing). */
export async function treeSize(dir: string): Promise<number> {
  let total = 0;
  const stack = [dir];
  while (stack.length) {
    const current = stack.pop()!;
    const names = await readdir(current).catch(() => [] as string[]);
    for (const name of names) {
      const child = path.join(current, name);
      const info = await lstat(child).catch(() => undefined);
      if (!info) continue;
      if (info.isDirectory()) stack.push(child);
      else if (info.isFile()) total += info.size;
    }
  }
  return total;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}
