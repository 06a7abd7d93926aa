/**
 * Blobs in an S3-compatible bucket (AWS S3, MinIO, R2, …), named like the
 * filesystem backend: `<prefix>sha256/<first two hex>/<sha256>`.
 *
 * An upload is counted, hashed and policed on its way through (Meter). Bodies up
 * to SMALL_BODY_BYTES are held in memory until their hash is known and then
 * written to their final key in one PutObject (with its ChecksumSHA256, which the
 * store checks); larger ones stream as a multipart upload (lib-storage) to a
 * temp key `<prefix>tmp/<random>`, are checked once the last byte is hashed, and
 * only then copied to their final key. A cut or refused upload aborts its
 * multipart upload or deletes its temp key: no final key ever holds bytes that
 * were not checked. Direct transfers: a presigned PUT lands on `<prefix>incoming/
 * <random>` and is read back and checked before it is copied to its name;
 * presigned GETs serve downloads. Credentials come from the standard AWS chain.
 * SAME_WORK: checked bytes are written to their key whether or not that sha256 is stored already (the
 * same bytes, so an idempotent overwrite): the work an upload causes tells no org whether another holds
 * those bytes, and the rewrite refreshes the object's age for sweepOrphans.
 */
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ApiError } from '@buildmesh/protocol';
import { asBodyError } from '../http/body-errors.js';
import type { BlobListing, BlobStore, DirectTransfers, PutOptions } from './blob-store.js';
import { pipeInto } from './fs.js';
import { Meter } from './meter.js';

const SHA256_PATTERN = /^[0-9a-f]{64}$/;
const SMALL_BODY_BYTES = 8 * 1024 * 1024;
const PART_BYTES = 16 * 1024 * 1024;
/** CopyObject's limit: larger blobs would need a multipart copy. */
const MAX_COPY_BYTES = 5 * 1024 * 1024 * 1024;

export interface S3Location {
  bucket: string;
  /** '' or ending in '/'. */
  prefix: string;
  endpoint: string | undefined;
  region: string;
  forcePathStyle: boolean;
}

/**
 * `s3://bucket/prefix?endpoint=https://…&region=…&forcePathStyle=1`. Only the
 * bucket is required; the region defaults to the AWS chain's or us-east-1.
 */
export function parseS3Url(url: string): S3Location {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('BUILDMESH_BLOB_URL: not a URL (expected s3://bucket/prefix?endpoint=…&region=…&forcePathStyle=1)');
  }
  if (parsed.protocol !== 's3:') throw new Error(`BUILDMESH_BLOB_URL: the scheme must be s3:, not ${parsed.protocol}`);
  const bucket = parsed.hostname;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new Error(`BUILDMESH_BLOB_URL: "${bucket}" is not a valid bucket name`);
  if (parsed.username || parsed.password) throw new Error('BUILDMESH_BLOB_URL: credentials do not belong in the URL; use the AWS credential chain (AWS_ACCESS_KEY_ID, AWS_PROFILE, …)');
  const known = new Set(['endpoint', 'region', 'forcePathStyle']);
  for (const key of parsed.searchParams.keys()) if (!known.has(key)) throw new Error(`BUILDMESH_BLOB_URL: unknown parameter ${key} (known: endpoint, region, forcePathStyle)`);
  const endpoint = parsed.searchParams.get('endpoint') ?? undefined;
  if (endpoint !== undefined && !/^https?:\/\/[^/]+/.test(endpoint)) throw new Error('BUILDMESH_BLOB_URL: endpoint must be an http(s) URL');
  const path = decodeURIComponent(parsed.pathname).replace(/^\/+/, '').replace(/\/+$/, '');
  const style = parsed.searchParams.get('forcePathStyle');
  return {
    bucket,
    prefix: path === '' ? '' : `${path}/`,
    endpoint,
    region: parsed.searchParams.get('region') ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    forcePathStyle: style === '1' || style === 'true',
  };
}

export function s3Client(location: S3Location): S3Client {
  // The SDK warns on Node 20 that its 2027 releases will need Node 22: an upgrade note for us, not for users.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({
    region: location.region,
    endpoint: location.endpoint,
    forcePathStyle: location.forcePathStyle,
    // Checksums only where S3 requires them: many compatible stores reject the newer trailing-checksum encoding.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

const isMissing = (err: unknown): boolean =>
  err instanceof S3ServiceException && (err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata.httpStatusCode === 404);

export class S3BlobStore implements BlobStore, DirectTransfers {
  readonly kind = 's3' as const;
  readonly direct: DirectTransfers = this;
  /** The write of each sha256's key in progress in this process (see publish). */
  private readonly publishing = new Map<string, Promise<unknown>>();

  private constructor(
    readonly client: S3Client,
    readonly location: S3Location,
  ) {}

  /**
   * Checks the bucket is reachable and deletes temp keys and multipart uploads
   * older than `staleAfterMs` (left by a process that died mid-upload; the bucket
   * may be shared by replicas, so younger ones may still be in progress).
   */
  static async open(url: string, options: { staleAfterMs?: number } = {}): Promise<S3BlobStore> {
    const location = parseS3Url(url);
    const store = new S3BlobStore(s3Client(location), location);
    await store.check();
    await store.sweepTemp(options.staleAfterMs ?? 24 * 60 * 60 * 1000);
    return store;
  }

  keyOf(sha256: string): string {
    if (!SHA256_PATTERN.test(sha256)) throw new ApiError('NOT_FOUND', 'no such blob');
    return `${this.location.prefix}sha256/${sha256.slice(0, 2)}/${sha256}`;
  }

  tempKey(): string {
    return `${this.location.prefix}tmp/${randomBytes(12).toString('hex')}`;
  }

  async sweepTemp(staleAfterMs: number): Promise<number> {
    const cutoff = Date.now() - staleAfterMs;
    let removed = 0;
    for (const area of ['tmp/', 'incoming/']) {
      for await (const object of this.listKeys(`${this.location.prefix}${area}`)) {
        if (object.modifiedAt.getTime() < cutoff) {
          await this.deleteKey(object.key);
          removed++;
        }
      }
    }
    try {
      const uploads = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.location.bucket, Prefix: `${this.location.prefix}tmp/` }));
      for (const upload of uploads.Uploads ?? []) {
        if (upload.Key && upload.UploadId && (upload.Initiated?.getTime() ?? 0) < cutoff) {
          await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.location.bucket, Key: upload.Key, UploadId: upload.UploadId }));
          removed++;
        }
      }
    } catch {
      // Not every compatible store lists multipart uploads; a bucket lifecycle rule is the backstop.
    }
    return removed;
  }

  async put(body: Readable, options: PutOptions): Promise<{ sha256: string; size: number }> {
    const meter = new Meter(options);
    const piped = pipeInto(body, meter);
    piped.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
    const iterator = meter[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    let tempKey: string | undefined;
    try {
      const head: Buffer[] = [];
      let headBytes = 0;
      let ended = false;
      while (headBytes <= SMALL_BODY_BYTES) {
        const next = await iterator.next();
        if (next.done) {
          ended = true;
          break;
        }
        head.push(next.value);
        headBytes += next.value.length;
      }
      if (ended) {
        await piped;
        const stored = meter.verdict();
        // Written whether or not the sha256 is stored already (the same bytes, by their hash): see SAME_WORK.
        await this.publish(stored.sha256, () =>
          this.client.send(
            new PutObjectCommand({
              Bucket: this.location.bucket,
              Key: this.keyOf(stored.sha256),
              Body: Buffer.concat(head, headBytes),
              ContentLength: headBytes,
              ChecksumSHA256: Buffer.from(stored.sha256, 'hex').toString('base64'),
            }),
          ),
        );
        return stored;
      }
      tempKey = this.tempKey();
      async function* rest(): AsyncGenerator<Buffer> {
        yield* head;
        for (;;) {
          const next = await iterator.next();
          if (next.done) return;
          yield next.value;
        }
      }
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.location.bucket, Key: tempKey, Body: Readable.from(rest(), { objectMode: false, highWaterMark: 1024 * 1024 }) },
        partSize: PART_BYTES,
        queueSize: 2,
        leavePartsOnError: false,
      });
      await upload.done();
      await piped;
      const stored = meter.verdict();
      if (stored.size > MAX_COPY_BYTES) throw new ApiError('PAYLOAD_TOO_LARGE', `blobs over ${MAX_COPY_BYTES} bytes are not supported on S3`);
      // Copied whether or not the sha256 is stored already: see SAME_WORK.
      await this.publishCopy(stored.sha256, tempKey);
      return stored;
    } catch (err) {
      if (!meter.destroyed) meter.destroy();
      await piped.catch(() => undefined);
      throw asBodyError(meter.failure ?? err);
    } finally {
      if (tempKey) await this.deleteKey(tempKey).catch(() => undefined);
    }
  }

  incomingKey(): string {
    return `${this.location.prefix}incoming/${randomBytes(16).toString('hex')}`;
  }

  async presignUpload(size: number, ttlSeconds: number): Promise<{ url: string; key: string; expiresAt: string }> {
    const key = this.incomingKey();
    const url = await getSignedUrl(this.client, new PutObjectCommand({ Bucket: this.location.bucket, Key: key, ContentLength: size }), {
      expiresIn: ttlSeconds,
      // The length is part of the signature: the URL takes exactly the declared number of bytes.
      signableHeaders: new Set(['content-length']),
    });
    return { url, key, expiresAt: new Date(Date.now() + ttlSeconds * 1000).toISOString() };
  }

  async adoptUpload(key: string, expected: { sha256: string; size: number }): Promise<void> {
    if (!key.startsWith(`${this.location.prefix}incoming/`)) throw new ApiError('NOT_FOUND', 'no such upload');
    let snapshot: string | undefined;
    try {
      const stat = await this.statKey(key);
      if (!stat) throw new ApiError('BODY_INCOMPLETE', 'nothing was uploaded to the URL');
      if (stat.size !== expected.size) throw new ApiError('SIZE_MISMATCH', `declared ${expected.size} bytes, the upload holds ${stat.size}`);
      if (expected.size > MAX_COPY_BYTES) throw new ApiError('PAYLOAD_TOO_LARGE', `blobs over ${MAX_COPY_BYTES} bytes are not supported on S3`);
      // The presigned URL stays writable until it expires: verify and publish a private copy, never the
      // incoming key itself (bytes written to it after the verification read would take the sha256's name).
      // The same steps whether or not the sha256 is stored already (SAME_WORK).
      snapshot = this.tempKey();
      try {
        await this.client.send(new CopyObjectCommand({ Bucket: this.location.bucket, Key: snapshot, CopySource: `${this.location.bucket}/${encodeURI(key)}` }));
      } catch (err) {
        // A completion of the same upload that ran at the same time has taken (and removed) it: a client's repeat, not our fault.
        if (isMissing(err)) throw new ApiError('BODY_INCOMPLETE', 'the upload is gone: it was completed already, or nothing was uploaded');
        throw err;
      }
      const copied = await this.statKey(snapshot);
      if (copied?.size !== expected.size) throw new ApiError('SIZE_MISMATCH', `declared ${expected.size} bytes, the upload holds ${copied?.size ?? 0}`);
      await this.verifyKey(snapshot, expected);
      await this.publishCopy(expected.sha256, snapshot);
    } finally {
      await this.deleteKey(key).catch(() => undefined);
      if (snapshot) await this.deleteKey(snapshot).catch(() => undefined);
    }
  }

  /** Copies checked bytes at `from` to the sha256's key (see publish). */
  private publishCopy(sha256: string, from: string): Promise<void> {
    return this.publish(sha256, () =>
      this.client.send(new CopyObjectCommand({ Bucket: this.location.bucket, Key: this.keyOf(sha256), CopySource: `${this.location.bucket}/${encodeURI(from)}` })),
    );
  }

  /**
   * Writes of one sha256's key (SAME_WORK: every checked upload writes it) run one after another in this
   * process: s3rver answers concurrent writes of one key with InternalError (500), which
   * 40 racing completions of one upload hit. Replicas may still race each other; real S3 takes that.
   */
  private async publish(sha256: string, write: () => Promise<unknown>): Promise<void> {
    const mine = (this.publishing.get(sha256) ?? Promise.resolve()).catch(() => undefined).then(write);
    this.publishing.set(sha256, mine);
    try {
      await mine;
    } finally {
      if (this.publishing.get(sha256) === mine) this.publishing.delete(sha256);
    }
  }

  /** The verification read: the object's bytes must hash to the declared sha256 (stores do not all keep a checksum). */
  private async verifyKey(key: string, expected: { sha256: string; size: number }): Promise<void> {
    const meter = new Meter({ maxBytes: expected.size, expectedSize: expected.size, expectedSha256: expected.sha256 });
    await pipeline(await this.getKey(key), meter, new Writable({ write: (_chunk, _enc, done) => done() }));
    meter.verdict();
  }

  async presignDownload(sha256: string, ttlSeconds: number, filename?: string): Promise<string> {
    return getSignedUrl(
      this.client,
      new GetObjectCommand({
        Bucket: this.location.bucket,
        Key: this.keyOf(sha256),
        ...(filename ? { ResponseContentDisposition: filename, ResponseContentType: 'application/octet-stream' } : {}),
      }),
      { expiresIn: ttlSeconds },
    );
  }

  async get(sha256: string, range?: { start: number; end: number }): Promise<Readable> {
    return this.getKey(this.keyOf(sha256), range);
  }

  async getKey(key: string, range?: { start: number; end: number }): Promise<Readable> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.location.bucket, Key: key, Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
      );
      return out.Body as Readable;
    } catch (err) {
      if (isMissing(err)) throw new ApiError('NOT_FOUND', 'the blob is gone');
      throw err;
    }
  }

  async stat(sha256: string): Promise<{ size: number } | undefined> {
    return this.statKey(this.keyOf(sha256));
  }

  async statKey(key: string): Promise<{ size: number } | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.location.bucket, Key: key }));
      return { size: head.ContentLength ?? 0 };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  private async exists(sha256: string): Promise<boolean> {
    return (await this.stat(sha256)) !== undefined;
  }

  async delete(sha256: string): Promise<void> {
    await this.deleteKey(this.keyOf(sha256));
  }

  async deleteKey(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.location.bucket, Key: key }));
  }

  async *list(): AsyncIterable<BlobListing> {
    for await (const object of this.listKeys(`${this.location.prefix}sha256/`)) {
      const sha256 = object.key.slice(object.key.lastIndexOf('/') + 1);
      if (SHA256_PATTERN.test(sha256)) yield { sha256, size: object.size, modifiedAt: object.modifiedAt };
    }
  }

  private async *listKeys(prefix: string): AsyncIterable<{ key: string; size: number; modifiedAt: Date }> {
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.location.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) {
        if (object.Key) yield { key: object.Key, size: object.Size ?? 0, modifiedAt: object.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async check(): Promise<void> {
    await this.client.send(new ListObjectsV2Command({ Bucket: this.location.bucket, Prefix: `${this.location.prefix}tmp/`, MaxKeys: 1 }));
  }
}
