/**
 * Unpacks a build's source archive (gzip'd tar, produced by `buildmesh` on someone's machine)
 * into an empty directory. The archive is untrusted input: anything that could write outside
 * the destination or exhaust the worker is REFUSED with a typed error, never silently fixed up
 * (node-tar's own extractor strips `..` and leading `/` with a mere warning, which would build a
 * project that differs from what was submitted).
 *
 * We use node-tar's streaming Parser and do the (few) filesystem operations ourselves, one entry
 * at a time, so that:
 *  - the archive is never held in memory (the parser applies backpressure to the stream);
 *  - when we refuse, no write is in flight any more and the partial result can be removed;
 *  - decompression is bounded: total bytes, the ratio to the compressed bytes read, and time; and
 *    it stops at the tar end-of-archive marker: what follows may only be a little zero padding,
 *    anything else (a valid tar followed by gigabytes of gzip'd zeros) is refused at once;
 *  - symbolic links are created only at the very end, after every file and directory: while
 *    extracting there is no symlink on disk, so nothing can be written "through" one, and each
 *    link target is checked against the final set of links (a later link can change where an
 *    earlier one points: `c -> a/b/..` is harmless until `a/b -> ..` arrives).
 */
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { chmod, link, mkdir, open, readdir, rm, symlink, unlink } from 'node:fs/promises';
import path from 'node:path';
import { pipeline, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';

export interface UnpackLimits {
  /** Limit on the uncompressed tar stream (contents plus headers), counted while decompressing. */
  maxBytes: number;
  maxEntries: number;
  /** Limit on decompressed / compressed bytes, checked once more than `ratioGraceBytes` came out. */
  maxRatio: number;
  ratioGraceBytes: number;
  /** The whole unpack (it reads the source as it downloads) must end within this time. */
  maxMs: number;
}

export const DEFAULT_UNPACK_LIMITS: UnpackLimits = {
  maxBytes: 4 * 1024 ** 3,
  maxEntries: 200_000,
  maxRatio: 200,
  ratioGraceBytes: 32 * 1024 ** 2,
  maxMs: 30 * 60_000,
};

/**
 * Zero bytes allowed after the end-of-archive marker: tar pads archives to whole records
 * (GNU tar: 10 KiB by default, more with a larger blocking factor). Anything beyond is refused.
 */
export const MAX_TRAILING_ZEROS = 1024 * 1024;

export type UnpackErrorCode =
  | 'ARCHIVE_PATH_TRAVERSAL'
  | 'ARCHIVE_ABSOLUTE_PATH'
  | 'ARCHIVE_LINK_ESCAPES'
  /** A file, directory or link whose path goes through a symlink from the same archive. */
  | 'ARCHIVE_PATH_THROUGH_SYMLINK'
  | 'ARCHIVE_SPECIAL_FILE'
  /** More decompressed bytes than maxBytes, or a compression ratio above maxRatio. */
  | 'ARCHIVE_TOO_LARGE'
  | 'ARCHIVE_TOO_MANY_ENTRIES'
  /** Bytes other than a little zero padding after the tar end-of-archive marker. */
  | 'ARCHIVE_TRAILING_DATA'
  /** The unpack did not finish within maxMs. */
  | 'ARCHIVE_TOO_SLOW'
  /** Truncated or damaged gzip/tar, or entries that contradict each other (a file where a directory is). */
  | 'ARCHIVE_CORRUPT'
  /** The archive file or stream could not be read (not the archive's fault). */
  | 'ARCHIVE_UNREADABLE'
  /** The worker's own filesystem failed (disk full, permissions). */
  | 'ARCHIVE_EXTRACT_FAILED'
  | 'DESTINATION_NOT_EMPTY';

export class UnpackError extends Error {
  override readonly name = 'UnpackError';
  constructor(
    readonly code: UnpackErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Bound on symlink expansions while resolving one target; the kernel's own limit is 40 (ELOOP). */
const MAX_LINK_HOPS = 40;

export async function unpackSource(
  archive: string | NodeJS.ReadableStream,
  destDir: string,
  limits: Partial<UnpackLimits> = {},
): Promise<{ entries: number; bytes: number }> {
  const dest = path.resolve(destDir);
  await prepareDestination(dest);
  const extraction = new Extraction(dest, { ...DEFAULT_UNPACK_LIMITS, ...limits });
  try {
    await extraction.run(archive);
  } catch (err) {
    // Extraction.run only throws once no filesystem operation is in flight, so this is final.
    await emptyDirectory(dest);
    throw err;
  }
  return { entries: extraction.entries, bytes: extraction.bytes };
}

/** The destination must be empty: the symlink checks below assume every link on disk is one we made. */
async function prepareDestination(dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  if ((await readdir(dest)).length > 0) {
    throw new UnpackError('DESTINATION_NOT_EMPTY', `refusing to unpack into non-empty directory ${dest}`);
  }
}

async function emptyDirectory(dir: string): Promise<void> {
  // rm does not follow symlinks, so removing what we extracted cannot reach outside `dir`.
  for (const name of await readdir(dir)) await rm(path.join(dir, name), { recursive: true, force: true });
}

class Extraction {
  entries = 0;
  /** Bytes of file contents written. */
  bytes = 0;
  private tarBytes = 0;
  /** Regular files extracted so far (archive-relative): the only valid hard link targets. */
  private readonly files = new Set<string>();
  /** Symlinks to create at the end, archive-relative path -> target, in archive order. */
  private readonly links = new Map<string, string>();
  /** Same, keyed case- and normalization-folded, for case-insensitive filesystems (macOS workers). */
  private readonly foldedLinks = new Map<string, string>();
  /** Filesystem operations run strictly one after another, in archive order. */
  private work: Promise<void> = Promise.resolve();
  private failure: UnpackError | undefined;
  /** The file entry whose data is being written; destroyed on failure so its writer stops waiting. */
  private current: ReadEntry | undefined;
  /**
   * Absolute paths we created. The destination started empty, so anything else does not exist:
   * this saves a mkdir/lstat round trip per entry (extraction is dominated by them).
   */
  private readonly made = new Map<string, 'directory' | 'other'>();

  constructor(
    private readonly dest: string,
    private readonly limits: UnpackLimits,
  ) {}

  async run(archive: string | NodeJS.ReadableStream): Promise<void> {
    const source = typeof archive === 'string' ? createReadStream(archive) : archive;
    let compressedBytes = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        compressedBytes += chunk.length;
        callback(null, chunk);
      },
    });
    // We decompress ourselves (rather than letting the parser sniff gzip) so every byte the
    // parser sees is counted against maxBytes: this is what stops decompression bombs.
    const tarStream = pipeline(source, counter, createGunzip(), () => {});
    // zstd/brotli off: the parser must only ever see plain tar. strict: every parser warning
    // (bad checksum, truncated input, not a tar at all) becomes an error.
    const parser = new Parser({ strict: true, zstd: false, brotli: false });

    let rejectFailed: (err: UnpackError) => void = () => {};
    const failed = new Promise<never>((_, reject) => (rejectFailed = reject));
    failed.catch(() => {});
    const fail = (err: unknown): void => {
      if (this.failure) return;
      this.failure = toUnpackError(err);
      rejectFailed(this.failure);
      tarStream.destroy();
      // The parser may still write into the destroyed entry; Minipass then emits 'error'.
      this.current?.on('error', () => {}).destroy();
    };

    const parserEnd = endOfArchive(parser);
    const timer = setTimeout(
      () => fail(new UnpackError('ARCHIVE_TOO_SLOW', `unpacking took longer than ${Math.round(this.limits.maxMs / 1000)} s`)),
      this.limits.maxMs,
    );

    parser.on('error', (err: Error) => fail(new UnpackError('ARCHIVE_CORRUPT', `corrupt archive: ${err.message}`, { cause: err })));
    // The parser skips (rather than reports) entry types it does not know and oversized metadata.
    parser.on('ignoredEntry', (entry: ReadEntry) =>
      fail(
        entry.meta
          ? new UnpackError('ARCHIVE_CORRUPT', `oversized ${entry.type} metadata entry`)
          : new UnpackError('ARCHIVE_SPECIAL_FILE', `unsupported entry type ${entry.type} for ${JSON.stringify(entry.path)}`),
      ),
    );
    // Without the two zero blocks that end every tar, the archive was cut at an entry boundary.
    let sawEndMarker = false;
    parser.on('eof', () => (sawEndMarker = true));
    parser.on('entry', (entry: ReadEntry) => {
      if (this.failure) return void entry.resume();
      let operation: () => Promise<void>;
      try {
        operation = this.plan(entry);
      } catch (err) {
        return fail(err);
      }
      this.work = this.work.then(() => (this.failure ? undefined : operation())).catch(fail);
    });

    try {
      let first = true;
      /** Bytes after the end-of-archive marker, once the parser has seen it. */
      let trailing: number | undefined;
      for await (const chunk of tarStream as AsyncIterable<Buffer>) {
        // The parser would transparently gunzip a gzip inside the gzip, uncounted.
        if (first && chunk[0] === 0x1f && chunk[1] === 0x8b) throw new UnpackError('ARCHIVE_CORRUPT', 'nested gzip stream');
        first = false;
        this.tarBytes += chunk.length;
        if (this.tarBytes > this.limits.maxBytes) throw tooLarge(this.limits);
        if (this.tarBytes > this.limits.ratioGraceBytes && this.tarBytes > this.limits.maxRatio * compressedBytes) {
          throw new UnpackError('ARCHIVE_TOO_LARGE', `archive expands more than ${this.limits.maxRatio} times its compressed size`);
        }
        if (trailing === undefined) {
          const drained = parser.write(chunk);
          const end = parserEnd();
          // The end marker: the parser ignores what follows, so it is not given any more.
          if (end.ended) trailing = checkTrailing(0, end.rest ?? Buffer.alloc(0));
          else if (!drained) await Promise.race([once(parser, 'drain'), failed]);
        } else {
          trailing = checkTrailing(trailing, chunk);
        }
        if (this.failure) break;
      }
      if (!this.failure) {
        const ended = once(parser, 'end');
        parser.end();
        await Promise.race([ended, failed]);
        if (!sawEndMarker) throw new UnpackError('ARCHIVE_CORRUPT', 'archive ends without an end-of-archive marker (truncated?)');
      }
    } catch (err) {
      fail(err instanceof UnpackError ? err : streamError(err));
    }
    clearTimeout(timer);
    // Whatever happened, let the operation in flight settle before reporting.
    await this.work;
    if (!this.failure) await this.createSymlinks().catch(fail);
    if (this.failure) throw this.failure;
  }

  /** Validates an entry (synchronously, in archive order) and returns the filesystem work it needs. */
  private plan(entry: ReadEntry): () => Promise<void> {
    if (++this.entries > this.limits.maxEntries) {
      throw new UnpackError('ARCHIVE_TOO_MANY_ENTRIES', `archive has more than ${this.limits.maxEntries} entries`);
    }
    if (entry.size > this.limits.maxBytes) throw tooLarge(this.limits);
    const parts = entryPath(entry.path);
    const rel = parts.join('/');
    const abs = path.join(this.dest, ...parts);
    const describe = JSON.stringify(entry.path);

    if (parts.length === 0) {
      // `./` itself: the destination already exists and keeps its own mode.
      if (entry.type !== 'Directory') throw new UnpackError('ARCHIVE_CORRUPT', `${entry.type} entry for the archive root`);
      return async () => void entry.resume();
    }
    if (entry.type === 'SymbolicLink') {
      const target = entry.linkpath ?? '';
      if (target === '' || target.includes('\0')) throw new UnpackError('ARCHIVE_CORRUPT', `symlink ${describe} has an invalid target`);
      if (isAbsoluteArchivePath(target)) {
        throw new UnpackError('ARCHIVE_LINK_ESCAPES', `symlink ${describe} points to absolute path ${JSON.stringify(target)}`);
      }
      this.assertNoLinkAbove(parts, false);
      this.links.set(rel, target);
      this.foldedLinks.set(fold(rel), target);
      this.assertLinkStaysInside(rel);
      return async () => void entry.resume();
    }
    this.assertNoLinkAbove(parts, true);

    switch (entry.type) {
      case 'Directory':
        return async () => {
          await this.ensureDirectory(abs, describe);
          // u+rwx so that extraction can continue into it and cleanup can remove it.
          await chmod(abs, ((entry.mode ?? 0o755) & 0o777) | 0o700).catch(fsFailure(describe));
          entry.resume();
        };
      case 'File':
      case 'OldFile':
      case 'ContiguousFile':
        this.files.add(rel);
        return () => this.writeFile(entry, abs, describe);
      case 'Link': {
        const linkpath = entry.linkpath ?? '';
        let target: string;
        try {
          target = entryPath(linkpath).join('/');
        } catch {
          throw new UnpackError('ARCHIVE_LINK_ESCAPES', `hard link ${describe} points outside the archive: ${JSON.stringify(linkpath)}`);
        }
        // Only to a regular file this archive already produced: never to anything of the host's.
        if (target === rel) throw new UnpackError('ARCHIVE_CORRUPT', `hard link ${describe} points to itself`);
        if (!this.files.has(target)) {
          throw new UnpackError('ARCHIVE_LINK_ESCAPES', `hard link ${describe} points to ${JSON.stringify(linkpath)}, not a file extracted from this archive`);
        }
        this.files.add(rel);
        return async () => {
          await this.replaceable(abs, describe);
          await link(path.join(this.dest, target), abs).catch(fsFailure(describe));
          entry.resume();
        };
      }
      default:
        // CharacterDevice, BlockDevice, FIFO, GNUDumpDir...: a source tree never needs them.
        throw new UnpackError('ARCHIVE_SPECIAL_FILE', `refusing ${entry.type} entry ${describe}`);
    }
  }

  private async writeFile(entry: ReadEntry, abs: string, describe: string): Promise<void> {
    await this.replaceable(abs, describe);
    // 'wx' = O_CREAT|O_EXCL: never opens an existing file or follows a link. Mode without
    // setuid/setgid/sticky, and always owner-writable so the build can edit its own sources.
    const handle = await open(abs, 'wx', ((entry.mode ?? 0o644) & 0o777) | 0o600).catch(fsFailure(describe));
    this.current = entry;
    try {
      // A failure while we were opening found no current entry to destroy: do not wait for data.
      if (this.failure) throw this.failure;
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        this.bytes += chunk.length;
        await handle.write(chunk);
        // Minipass's iterator never settles when the entry is destroyed between two reads.
        if (this.failure) throw this.failure;
      }
      if (entry.mtime) await handle.utimes(entry.atime ?? entry.mtime, entry.mtime);
    } catch (err) {
      throw this.failure ?? fsFailure(describe)(err);
    } finally {
      this.current = undefined;
      await handle.close();
    }
  }

  /** Makes room at `abs` for a file or hard link: parent directories exist, an older non-directory entry goes. */
  private async replaceable(abs: string, describe: string): Promise<void> {
    await this.ensureDirectory(path.dirname(abs), describe);
    const existing = this.made.get(abs);
    if (existing === 'directory') throw new UnpackError('ARCHIVE_CORRUPT', `entry ${describe} replaces a directory`);
    if (existing === 'other') await unlink(abs).catch(fsFailure(describe));
    this.made.set(abs, 'other');
  }

  private async ensureDirectory(dir: string, describe: string): Promise<void> {
    const existing = dir === this.dest ? 'directory' : this.made.get(dir);
    if (existing === 'directory') return;
    if (existing === 'other') throw new UnpackError('ARCHIVE_CORRUPT', `entry ${describe} needs a directory where a file is`);
    await mkdir(dir, { recursive: true }).catch(fsFailure(describe));
    for (let d = dir; d.startsWith(this.dest + path.sep) && !this.made.has(d); d = path.dirname(d)) this.made.set(d, 'directory');
  }

  private async createSymlinks(): Promise<void> {
    // Checked again against the complete set of links: see the header comment.
    for (const rel of this.links.keys()) {
      this.assertNoLinkAbove(rel.split('/'), false);
      this.assertLinkStaysInside(rel);
    }
    for (const [rel, target] of this.links) {
      const abs = path.join(this.dest, rel);
      const describe = JSON.stringify(rel);
      await this.ensureDirectory(path.dirname(abs), describe);
      await symlink(target, abs).catch(fsFailure(describe));
    }
  }

  /** Refuses a path that lies below (or, with `includingSelf`, is) a symlink of this archive. */
  private assertNoLinkAbove(parts: string[], includingSelf: boolean): void {
    const last = includingSelf ? parts.length : parts.length - 1;
    for (let i = 1; i <= last; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (this.foldedLinks.has(fold(prefix))) {
        throw new UnpackError('ARCHIVE_PATH_THROUGH_SYMLINK', `entry ${JSON.stringify(parts.join('/'))} lies below symlink ${JSON.stringify(prefix)}`);
      }
    }
  }

  /**
   * Both on a case-sensitive and on a case-insensitive filesystem, the link must resolve inside
   * the destination (each model alone can be fooled by names that only the other one merges).
   */
  private assertLinkStaysInside(rel: string): void {
    const target = this.links.get(rel) ?? '';
    const dir = rel.split('/').slice(0, -1);
    const exact = resolvesInside(dir, target, (p) => this.links.get(p));
    const folded = resolvesInside(dir, target, (p) => this.foldedLinks.get(fold(p)));
    if (!exact || !folded) {
      throw new UnpackError('ARCHIVE_LINK_ESCAPES', `symlink ${JSON.stringify(rel)} -> ${JSON.stringify(target)} resolves outside the destination`);
    }
  }
}

/**
 * Resolves `target` from directory `dir` the way the kernel would, expanding the archive's own
 * symlinks (`lookup`) component by component, so `..` after a link applies to where the link
 * points. Returns false if the walk ever climbs above the destination root.
 */
function resolvesInside(dir: string[], target: string, lookup: (rel: string) => string | undefined): boolean {
  const stack = [...dir];
  const todo = splitComponents(target).reverse();
  let hops = 0;
  while (todo.length > 0) {
    const part = todo.pop() as string;
    if (part === '..') {
      if (stack.pop() === undefined) return false;
      continue;
    }
    stack.push(part);
    const next = lookup(stack.join('/'));
    if (next === undefined) continue;
    if (++hops > MAX_LINK_HOPS || isAbsoluteArchivePath(next)) return false;
    stack.pop();
    todo.push(...splitComponents(next).reverse());
  }
  return true;
}

/**
 * node-tar's Parser keeps whether it met the end-of-archive marker, and the bytes of the current
 * chunk after it, in private fields: read them, so that the parser alone decides where the archive
 * ends (a second tar reader here could disagree with it on a crafted archive). Fails closed if a
 * node-tar upgrade renamed them: no archive then unpacks, and the tests say why.
 */
function endOfArchive(parser: Parser): () => { ended: boolean; rest: Buffer | undefined } {
  const symbols = Object.getOwnPropertySymbols(parser);
  const sawEof = symbols.find((s) => s.description === 'sawEOF');
  const buffer = symbols.find((s) => s.description === 'buffer');
  if (!sawEof || !buffer) throw new UnpackError('ARCHIVE_EXTRACT_FAILED', 'this node-tar version does not expose its end-of-archive state');
  const fields = parser as unknown as Record<symbol, unknown>;
  return () => ({ ended: fields[sawEof] === true, rest: fields[buffer] as Buffer | undefined });
}

/** Counts bytes after the end marker; refuses anything but a little zero padding. */
function checkTrailing(seen: number, chunk: Buffer): number {
  const total = seen + chunk.length;
  if (total > MAX_TRAILING_ZEROS || chunk.some((byte) => byte !== 0)) {
    throw new UnpackError('ARCHIVE_TRAILING_DATA', `data after the end-of-archive marker (${total > MAX_TRAILING_ZEROS ? `over ${MAX_TRAILING_ZEROS} bytes` : 'not zero padding'})`);
  }
  return total;
}

/** Archive path -> components, refusing what node-tar would only strip with a warning. */
function entryPath(p: string): string[] {
  if (p.includes('\0')) throw new UnpackError('ARCHIVE_CORRUPT', `entry path ${JSON.stringify(p)} contains a NUL byte`);
  if (isAbsoluteArchivePath(p)) throw new UnpackError('ARCHIVE_ABSOLUTE_PATH', `entry path ${JSON.stringify(p)} is absolute`);
  const parts = splitComponents(p);
  if (parts.includes('..')) throw new UnpackError('ARCHIVE_PATH_TRAVERSAL', `entry path ${JSON.stringify(p)} contains '..'`);
  return parts;
}

/** Backslash counts as a separator too: stricter than Linux, and what Windows-made archives mean. */
function splitComponents(p: string): string[] {
  return p.split(/[\\/]/).filter((c) => c !== '' && c !== '.');
}

function isAbsoluteArchivePath(p: string): boolean {
  return p.startsWith('/') || p.startsWith('\\') || /^[a-zA-Z]:/.test(p);
}

/** How a case- and normalization-insensitive filesystem (APFS, HFS+) compares names, approximately. */
function fold(p: string): string {
  return p.normalize('NFC').toLowerCase();
}

function tooLarge(limits: UnpackLimits): UnpackError {
  return new UnpackError('ARCHIVE_TOO_LARGE', `archive expands to more than ${limits.maxBytes} bytes`);
}

/** Errors surfacing from the compressed stream: zlib's are the archive's fault, the rest the source's. */
function streamError(err: unknown): UnpackError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  const message = err instanceof Error ? err.message : String(err);
  return code.startsWith('Z_')
    ? new UnpackError('ARCHIVE_CORRUPT', `corrupt gzip stream: ${message}`, { cause: err })
    : new UnpackError('ARCHIVE_UNREADABLE', `cannot read archive: ${message}`, { cause: err });
}

function fsFailure(describe: string): (err: unknown) => never {
  return (err) => {
    if (err instanceof UnpackError) throw err;
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    const message = err instanceof Error ? err.message : String(err);
    // An entry colliding with an earlier one of another kind (file `a`, then `a/b`), or a path
    // the filesystem cannot hold.
    if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'ENAMETOOLONG') {
      throw new UnpackError('ARCHIVE_CORRUPT', `entry ${describe} conflicts with an earlier entry: ${message}`, { cause: err });
    }
    throw new UnpackError('ARCHIVE_EXTRACT_FAILED', `cannot extract ${describe}: ${message}`, { cause: err });
  };
}

function toUnpackError(err: unknown): UnpackError {
  if (err instanceof UnpackError) return err;
  return new UnpackError('ARCHIVE_EXTRACT_FAILED', `extraction failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
