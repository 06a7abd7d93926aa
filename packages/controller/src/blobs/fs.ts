/**
 * Blobs as files under `<dataDir>/blobs/`:
 *
 *   sha256/<first two hex>/<full sha256>   the stored blobs
 *   tmp/<random>.part                      uploads in progress
 *
 * An upload streams to a temp file while it is hashed and counted (limits and the
 * idle timeout enforced as bytes arrive), is checked against the declared size
 * and sha256, fsynced (flushed behind while it is written: DurableWriter), and
 * renamed into place; the directory is fsynced so the rename survives a power
 * loss, also when that sha256 is stored already (the same work either way: no org
 * learns whether another holds the bytes). Any failure removes the temp file.
 * Bodies up to SMALL_BODY_BYTES are held in memory until they are checked, so a
 * refused small upload touches the disk not at all.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { ApiError, DurableWriter } from '@buildmesh/protocol';
import { asBodyError } from '../http/body-errors.js';
import type { BlobListing, BlobStore, PutOptions } from './blob-store.js';

const SHA256_PATTERN = /^[0-9a-f]{64}$/;
const SMALL_BODY_BYTES = 256 * 1024;
const READ_CHUNK_BYTES = 1024 * 1024;

export class FsBlobStore implements BlobStore {
  readonly kind = 'fs' as const;
  private readonly blobDir: string;
  private readonly tmpDir: string;

  private constructor(readonly root: string) {
    this.blobDir = join(root, 'sha256');
    this.tmpDir = join(root, 'tmp');
  }

  /**
   * Creates the directories and deletes temp files a crashed process left behind.
   * `sharedStaleAfterMs`: the directory is shared by replicas, whose uploads in
   * progress keep writing their temp files; only files untouched for this long are
   * a dead process's leftovers.
   */
  static async open(root: string, options: { sharedStaleAfterMs?: number } = {}): Promise<FsBlobStore> {
    const store = new FsBlobStore(root);
    await mkdir(store.blobDir, { recursive: true, mode: 0o700 });
    await mkdir(store.tmpDir, { recursive: true, mode: 0o700 });
    await store.sweepTemp(options.sharedStaleAfterMs);
    return store;
  }

  /** Without `staleAfterMs` every temp file belongs to an upload of a previous process (one process owns the dir). */
  async sweepTemp(staleAfterMs?: number): Promise<number> {
    let names = await readdir(this.tmpDir);
    if (staleAfterMs !== undefined) {
      const cutoff = Date.now() - staleAfterMs;
      const ages = await Promise.all(names.map(async (name) => (await stat(join(this.tmpDir, name)).catch(() => undefined))?.mtimeMs ?? Infinity));
      names = names.filter((_, i) => ages[i]! < cutoff);
    }
    await Promise.all(names.map((name) => rm(join(this.tmpDir, name), { force: true, recursive: true })));
    return names.length;
  }

  async put(body: Readable, options: PutOptions): Promise<{ sha256: string; size: number }> {
    const sink = new TempFileSink(this.tmpDir, options);
    try {
      await pipeInto(body, sink);
    } catch (err) {
      await sink.discard();
      throw asBodyError(sink.failure ?? err);
    }
    try {
      const size = sink.size;
      const sha256 = sink.hash.digest('hex');
      if (options.expectedSize !== undefined && size !== options.expectedSize) {
        throw new ApiError('SIZE_MISMATCH', `declared ${options.expectedSize} bytes, received ${size}`);
      }
      if (options.expectedSha256 !== undefined && sha256 !== options.expectedSha256) {
        throw new ApiError('CHECKSUM_MISMATCH', `declared sha256 ${options.expectedSha256}, received ${sha256}`);
      }
      // Committed whether or not the sha256 is stored already (the same bytes: the rename replaces the file
      // atomically, readers of the old one keep it): the work an upload causes tells no org whether another
      // holds those bytes.
      await sink.commit(this.pathOf(sha256));
      return { sha256, size };
    } catch (err) {
      await sink.discard();
      throw err;
    }
  }

  async get(sha256: string, range?: { start: number; end: number }): Promise<Readable> {
    let handle: FileHandle;
    try {
      handle = await open(this.pathOf(sha256), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ApiError('NOT_FOUND', 'the blob is gone');
      throw err;
    }
    return handle.createReadStream({ start: range?.start, end: range?.end, highWaterMark: READ_CHUNK_BYTES });
  }

  async stat(sha256: string): Promise<{ size: number } | undefined> {
    try {
      return { size: (await stat(this.pathOf(sha256))).size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async delete(sha256: string): Promise<void> {
    await rm(this.pathOf(sha256), { force: true });
  }

  async *list(): AsyncIterable<BlobListing> {
    for (const shard of await readdir(this.blobDir)) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      for (const name of await readdir(join(this.blobDir, shard)).catch(() => [] as string[])) {
        if (!SHA256_PATTERN.test(name)) continue;
        const info = await stat(join(this.blobDir, shard, name)).catch(() => undefined);
        if (info) yield { sha256: name, size: info.size, modifiedAt: info.mtime };
      }
    }
  }

  async check(): Promise<void> {
    await access(this.tmpDir, constants.W_OK);
    await access(this.blobDir, constants.W_OK);
  }

  /** The regex is the whole defence against path tricks: only 64 hex characters become a path. */
  private pathOf(sha256: string): string {
    if (!SHA256_PATTERN.test(sha256)) throw new ApiError('NOT_FOUND', 'no such blob');
    return join(this.blobDir, sha256.slice(0, 2), sha256);
  }
}

/**
 * Like stream.pipeline, but a failure only unpipes the source instead of
 * destroying it: when the source is an HTTP request, destroying it would cut the
 * socket before the 4xx that explains the refusal could be sent.
 */
export function pipeInto(source: Readable, sink: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      source.off('error', fail);
      source.off('close', onSourceClose);
      sink.off('error', fail);
      sink.off('finish', done);
      source.unpipe(sink);
    };
    const fail = (err: unknown): void => {
      cleanup();
      if (!sink.destroyed) sink.destroy();
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    const done = (): void => {
      cleanup();
      resolve();
    };
    // A source destroyed without an error closes without 'end': the body is incomplete.
    const onSourceClose = (): void => {
      if (!source.readableEnded) fail(new ApiError('BODY_INCOMPLETE'));
    };
    if (source.destroyed || source.readableEnded) {
      reject(new ApiError('BODY_INCOMPLETE', 'the body was already consumed or closed'));
      return;
    }
    source.once('error', fail);
    source.once('close', onSourceClose);
    sink.once('error', fail);
    sink.once('finish', done);
    source.pipe(sink);
  });
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The write end of an upload: counts, hashes, enforces the byte limit and the
 * idle timeout, and spills to a temp file once the body outgrows memory.
 */
class TempFileSink extends Writable {
  readonly hash: Hash = createHash('sha256');
  size = 0;
  /** The reason the sink refused the body (set before the stream errors). */
  failure: ApiError | undefined;
  private buffered: Buffer[] = [];
  private handle: FileHandle | undefined;
  private writer: DurableWriter | undefined;
  /** Named only when the body spills to disk (small bodies never get a temp file). */
  private tmpPath = '';
  private idleTimer: NodeJS.Timeout | undefined;
  private discarded = false;

  constructor(
    private readonly tmpDir: string,
    private readonly options: PutOptions,
  ) {
    super({ highWaterMark: READ_CHUNK_BYTES });
    this.armIdleTimer();
  }

  private armIdleTimer(): void {
    const ms = this.options.idleTimeoutMs;
    if (!ms) return;
    if (this.idleTimer) {
      this.idleTimer.refresh();
      return;
    }
    this.idleTimer = setTimeout(() => this.refuse(new ApiError('BODY_TIMEOUT', `no bytes arrived for ${ms} ms`)), ms);
  }

  private refuse(error: ApiError): void {
    this.failure ??= error;
    this.destroy(error);
  }

  private account(chunk: Buffer): ApiError | undefined {
    this.size += chunk.length;
    if (this.size > this.options.maxBytes) return new ApiError('PAYLOAD_TOO_LARGE', `the body exceeds ${this.options.maxBytes} bytes`);
    if (this.options.expectedSize !== undefined && this.size > this.options.expectedSize) {
      return new ApiError('SIZE_MISMATCH', `more than the declared ${this.options.expectedSize} bytes arrived`);
    }
    this.hash.update(chunk);
    return undefined;
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.armIdleTimer();
    for (const { chunk } of chunks) {
      const refused = this.account(chunk);
      if (refused) {
        this.failure ??= refused;
        callback(refused);
        return;
      }
    }
    const buffers = chunks.map((c) => c.chunk);
    if (!this.handle && this.size <= SMALL_BODY_BYTES) {
      for (const b of buffers) this.buffered.push(b);
      callback();
      return;
    }
    this.writeToFile(buffers).then(() => callback(), callback);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this._writev([{ chunk }], callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    callback(error);
  }

  private async writeToFile(buffers: Buffer[]): Promise<void> {
    if (this.discarded) throw new Error('upload discarded');
    if (!this.handle) {
      this.tmpPath = join(this.tmpDir, `${randomBytes(12).toString('hex')}.part`);
      const handle = await open(this.tmpPath, 'wx', 0o600);
      if (this.discarded) {
        // discard() ran while the file was being created: it could not see the handle.
        await handle.close().catch(() => undefined);
        await unlink(this.tmpPath).catch(() => undefined);
        throw new Error('upload discarded');
      }
      this.handle = handle;
      this.writer = new DurableWriter(handle);
      buffers = [...this.buffered, ...buffers];
      this.buffered = [];
    }
    await this.writer!.write(buffers);
  }

  /** Durably moves the upload to its final path. */
  async commit(finalPath: string): Promise<void> {
    if (!this.handle) await this.writeToFile([]);
    const handle = this.handle!;
    await this.writer!.sync();
    await handle.close();
    this.handle = undefined;
    const dir = join(finalPath, '..');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await rename(this.tmpPath, finalPath);
    await fsyncDir(dir);
  }

  /** Drops the upload; safe to call more than once and after commit. */
  async discard(): Promise<void> {
    this.discarded = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.buffered = [];
    const handle = this.handle;
    this.handle = undefined;
    if (handle) {
      await handle.close().catch(() => undefined);
      await unlink(this.tmpPath).catch(() => undefined);
    }
  }
}

