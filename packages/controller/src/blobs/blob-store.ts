/**
 * Content-addressed blob storage (sources, artifacts): the key is the sha256 of
 * the bytes, so a retried build re-uses its source and equal uploads share space.
 * Everything streams; nothing here holds a whole blob in memory.
 */
import type { Readable } from 'node:stream';

export interface PutOptions {
  /** Refuse (PAYLOAD_TOO_LARGE) as soon as more bytes than this arrive. */
  maxBytes: number;
  /** Refuse (CHECKSUM_MISMATCH) if the bytes hash to something else. */
  expectedSha256?: string;
  /** Refuse (SIZE_MISMATCH / BODY_INCOMPLETE) if the byte count differs. */
  expectedSize?: number;
  /** Cut off a body that sends nothing for this long (BODY_TIMEOUT). */
  idleTimeoutMs?: number;
}

/** One stored blob, as retention lists them. */
export interface BlobListing {
  sha256: string;
  size: number;
  modifiedAt: Date;
}

/**
 * Transfers that bypass the controller (S3): short-lived presigned URLs, each
 * for one key and one method. An upload lands on a fresh incoming key and becomes
 * a blob only once the controller has read it back and checked size and sha256.
 */
export interface DirectTransfers {
  /** A URL that PUTs exactly `size` bytes to a new incoming key. */
  presignUpload(size: number, ttlSeconds: number): Promise<{ url: string; key: string; expiresAt: string }>;
  /** Verifies the incoming key (a full read) and moves it to its sha256 name; the incoming key is gone either way. */
  adoptUpload(key: string, expected: { sha256: string; size: number }): Promise<void>;
  /** A URL that GETs the blob (Range allowed), optionally served as an attachment named `filename`. */
  presignDownload(sha256: string, ttlSeconds: number, filename?: string): Promise<string>;
}

export interface BlobStore {
  readonly kind: 'fs' | 's3';
  /** Present when clients can transfer straight to and from the storage (S3). */
  readonly direct?: DirectTransfers;
  /** Stores the stream durably and returns its address; on any failure nothing is left behind. */
  put(body: Readable, options: PutOptions): Promise<{ sha256: string; size: number }>;
  /** Inclusive byte range, as in HTTP Range. */
  get(sha256: string, range?: { start: number; end: number }): Promise<Readable>;
  stat(sha256: string): Promise<{ size: number } | undefined>;
  delete(sha256: string): Promise<void>;
  /** Every stored blob (no uploads in progress), in no particular order: for retention's orphan sweep. */
  list(): AsyncIterable<BlobListing>;
  /** For /health: is the storage reachable and writable? */
  check(): Promise<void>;
}
