/**
 * Packs the listed project files into a tar.gz stream for upload. The archive is produced while
 * it is read, so memory stays flat whatever the project's size: the caller pipes the returned
 * stream straight into the HTTP request body (or a file, or a hash).
 */
import { pipeline, Readable, Transform } from 'node:stream';
import { createGzip } from 'node:zlib';
import { Pack } from 'tar';
import type { ProjectFile } from './file-list.js';

/** Above this many source bytes the CLI warns and names the largest files. */
export const SOURCE_WARN_BYTES = 100 * 1024 ** 2;
/** Above this many source bytes packing is refused (SOURCE_TOO_LARGE). */
export const SOURCE_MAX_BYTES = 2 * 1024 ** 3;
/** How many of the largest files a summary names. */
export const LARGEST_FILES_LISTED = 10;

/**
 * Tar framing on top of the content: per entry a header, a possible pax header for long or
 * non-ASCII paths, and padding to 512 bytes; per archive the end blocks and record padding.
 */
const TAR_BYTES_PER_ENTRY = 2048;
const TAR_BYTES_PER_ARCHIVE = 10240;
/**
 * File read size. node-tar's default (16 MiB) allocates a fresh buffer per read, and several are
 * in flight between the reader and gzip, which costs ~100 MB of RSS on a large file. 64 KiB keeps
 * the packer at ~85 MB peak RSS for a 500 MB project (bench: pack_rss_mb); gzip, not the read
 * size, bounds the speed.
 */
const READ_CHUNK_BYTES = 64 * 1024;

export class PackError extends Error {
  constructor(readonly code: 'SOURCE_TOO_LARGE', message: string) {
    super(message);
    this.name = 'PackError';
  }
}

export interface FilesSummary {
  count: number;
  /** Sum of the listed sizes. */
  bytes: number;
  /** The LARGEST_FILES_LISTED biggest files, largest first. */
  largest: ProjectFile[];
}

export function summarizeFiles(files: readonly ProjectFile[]): FilesSummary {
  const bytes = files.reduce((sum, f) => sum + f.size, 0);
  const largest = [...files].sort((a, b) => b.size - a.size).slice(0, LARGEST_FILES_LISTED);
  return { count: files.length, bytes, largest };
}

export interface PackOptions {
  /** Refuse projects whose files add up to more than this (default SOURCE_MAX_BYTES). */
  maxBytes?: number;
  /** Uncompressed tar bytes produced so far (content plus ~512 bytes of framing per file). */
  onProgress?(bytesIn: number): void;
  /**
   * More entries packed after `files`, from another folder: a monorepo's shallow `.git`
   * (shallow-git.ts). `paths` may name directories (packed as entries, not recursed); `bytes` is
   * their files' total, counted against the cap's framing allowance, not against `maxBytes`.
   */
  extra?: { cwd: string; paths: readonly string[]; bytes: number };
}

/** node-tar ends an archive with two zero blocks (and no further record padding). */
const TAR_EOF_BYTES = 1024;

/**
 * Returns the tar.gz stream of `files` (paths relative to `projectDir`). Throws PackError
 * SOURCE_TOO_LARGE before reading any file when the listed sizes exceed `maxBytes`; if files grow
 * between listing and packing past that cap, the stream fails with the same error instead.
 * Symlinks are stored as links (never followed), and portable mode leaves out owner and device data.
 */
export function packProject(projectDir: string, files: readonly ProjectFile[], opts: PackOptions = {}): Readable {
  const maxBytes = opts.maxBytes ?? SOURCE_MAX_BYTES;
  const summary = summarizeFiles(files);
  if (summary.bytes > maxBytes) throw tooLarge(summary, maxBytes);

  // Counting the uncompressed tar bytes (rather than letting node-tar gzip internally) is what
  // gives progress within a large file and enforces the cap on what is actually read.
  const extra = opts.extra;
  const tarByteLimit =
    maxBytes + files.length * TAR_BYTES_PER_ENTRY + TAR_BYTES_PER_ARCHIVE + (extra ? extra.bytes + extra.paths.length * TAR_BYTES_PER_ENTRY : 0);
  let bytesIn = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytesIn += chunk.length;
      if (bytesIn > tarByteLimit) {
        done(new PackError('SOURCE_TOO_LARGE', `project files grew past ${formatBytes(maxBytes)} while being packed`));
        return;
      }
      opts.onProgress?.(bytesIn);
      done(null, chunk);
    },
  });

  // Pack rather than tar.c: tar.c reads a path starting with '@' as an archive to splice in.
  // A listed file deleted before packing fails the stream (ENOENT); strict turns node-tar's
  // warnings into failures too. One that turned into a directory or FIFO is left out, as listing does.
  const pack = new Pack({
    cwd: projectDir, portable: true, follow: false, noDirRecurse: true, strict: true, maxReadSize: READ_CHUNK_BYTES,
    filter: (_path, stat) => 'isFile' in stat && (stat.isFile() || stat.isSymbolicLink()),
  });
  pack.on('error', (err: unknown) => counter.destroy(err as Error));
  if (extra) {
    // One archive: the first one's end blocks are held back, then the extra entries' archive follows.
    const body = Readable.from(concatenated(pack, () => {
      const more = new Pack({ cwd: extra.cwd, portable: true, follow: false, noDirRecurse: true, strict: true, maxReadSize: READ_CHUNK_BYTES });
      for (const path of extra.paths) more.add(path);
      more.end();
      return more;
    }));
    body.on('error', (err) => counter.destroy(err));
    body.pipe(counter);
  } else {
    pack.pipe(counter);
  }
  // A consumer that stops reading (failed upload) leaves the pack paused; errors reach it
  // through the returned stream, which pipeline destroys when any stage fails.
  const gzip = pipeline(counter, createGzip(), () => {});
  for (const file of files) pack.add(file.path);
  pack.end();
  return gzip;
}

/** `first`'s bytes without its end-of-archive blocks, then all of `next()`'s. */
async function* concatenated(first: AsyncIterable<Buffer>, next: () => AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let held: Buffer = Buffer.alloc(0);
  for await (const chunk of first) {
    held = held.length ? Buffer.concat([held, chunk]) : chunk;
    if (held.length > TAR_EOF_BYTES) {
      yield held.subarray(0, held.length - TAR_EOF_BYTES);
      held = held.subarray(held.length - TAR_EOF_BYTES);
    }
  }
  if (held.length !== TAR_EOF_BYTES || held.some((b) => b !== 0)) throw new Error('the archive did not end with its end-of-archive blocks');
  yield* next();
}

function tooLarge(summary: FilesSummary, maxBytes: number): PackError {
  const top = summary.largest.slice(0, 5).map((f) => `  ${formatBytes(f.size).padStart(10)}  ${f.path}`);
  return new PackError(
    'SOURCE_TOO_LARGE',
    `project is ${formatBytes(summary.bytes)} in ${summary.count} files, above the ${formatBytes(maxBytes)} limit; ` +
      `largest files (add them to .easignore or .gitignore if the build does not need them):\n${top.join('\n')}`,
  );
}

/** Human-readable size, binary units ("1.5 GiB"). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
