/**
 * A pass-through that counts, hashes and polices an upload on its way to a blob
 * backend that cannot do it itself (S3): the byte limit, the declared size and
 * the idle timeout are enforced as bytes arrive; the sha256 is known at the end.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ApiError } from '@buildmesh/protocol';
import type { PutOptions } from './blob-store.js';

export class Meter extends Transform {
  readonly hash: Hash = createHash('sha256');
  size = 0;
  /** The reason the meter refused the body (set before the stream errors). */
  failure: ApiError | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: PutOptions) {
    super({ highWaterMark: 1024 * 1024 });
    const ms = options.idleTimeoutMs;
    if (ms) this.idleTimer = setTimeout(() => this.refuse(new ApiError('BODY_TIMEOUT', `no bytes arrived for ${ms} ms`)), ms);
  }

  private refuse(error: ApiError): void {
    this.failure ??= error;
    this.destroy(error);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.idleTimer?.refresh();
    this.size += chunk.length;
    let refused: ApiError | undefined;
    if (this.size > this.options.maxBytes) refused = new ApiError('PAYLOAD_TOO_LARGE', `the body exceeds ${this.options.maxBytes} bytes`);
    else if (this.options.expectedSize !== undefined && this.size > this.options.expectedSize) {
      refused = new ApiError('SIZE_MISMATCH', `more than the declared ${this.options.expectedSize} bytes arrived`);
    }
    if (refused) {
      this.failure ??= refused;
      callback(refused);
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    callback(error);
  }

  /** After the end: the size and hash, checked against what was declared. */
  verdict(): { sha256: string; size: number } {
    const sha256 = this.hash.digest('hex');
    if (this.options.expectedSize !== undefined && this.size !== this.options.expectedSize) {
      throw new ApiError('SIZE_MISMATCH', `declared ${this.options.expectedSize} bytes, received ${this.size}`);
    }
    if (this.options.expectedSha256 !== undefined && sha256 !== this.options.expectedSha256) {
      throw new ApiError('CHECKSUM_MISMATCH', `declared sha256 ${this.options.expectedSha256}, received ${sha256}`);
    }
    return { sha256, size: this.size };
  }
}
