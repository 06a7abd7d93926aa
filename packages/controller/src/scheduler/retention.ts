/**
 * Retention: ended builds older than retentionDays lose their logs and
 * artifacts, ended webhook deliveries older than that are deleted (and, whatever
 * the retention, deliveries of deleted webhooks); blobs
 * nothing references any more are deleted, and so are stored
 * blobs no row has referenced for a day (left by a process that died between
 * storing a blob and committing its row). Runs shortly after
 * start and then every retentionIntervalMs, on the replica holding the singleton role.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { BlobStore } from '../blobs/blob-store.js';
import type { BlobPins } from '../blobs/pins.js';
import type { Store } from '../store/store.js';
import { startLoop, type Loop } from './loop.js';
import { ALWAYS, type Singleton } from './singleton.js';

const BATCH = 500;
const DAY_MS = 24 * 60 * 60 * 1000;
/** A blob younger than this may belong to a request still committing its row. */
const ORPHAN_AGE_MS = DAY_MS;

export async function runRetention(store: Store, blobs: BlobStore, pins: BlobPins, retentionDays: number, log: FastifyBaseLogger): Promise<void> {
  // Garbage whatever the retention: deliveries of deleted webhooks (store.deleteOrphanDeliveries).
  let orphanDeliveries = 0;
  for (let n = BATCH; n === BATCH; orphanDeliveries += n) n = await store.deleteOrphanDeliveries(BATCH);
  if (orphanDeliveries > 0) log.info({ webhookDeliveries: orphanDeliveries }, 'retention deleted deliveries of deleted webhooks');
  if (retentionDays <= 0) return;
  const cutoff = new Date(Date.now() - retentionDays * DAY_MS);
  let builds = 0;
  let deleted = 0;
  for (;;) {
    const result = await store.expire(cutoff, BATCH);
    builds += result.builds;
    for (const sha256 of result.unreferencedBlobs) {
      // Pinned = an upload in progress just stored the same bytes; checked again because a new build may point at it.
      if (pins.isPinned(sha256) || (await store.blobReferenced(sha256))) continue;
      await blobs.delete(sha256);
      deleted++;
    }
    if (result.builds < BATCH) break;
  }
  let deliveries = 0;
  for (let n = BATCH; n === BATCH; deliveries += n) n = await store.expireDeliveries(cutoff.getTime(), BATCH);
  deleted += await sweepOrphans(store, blobs, pins);
  if (builds > 0 || deleted > 0 || deliveries > 0) log.info({ builds, blobsDeleted: deleted, webhookDeliveries: deliveries }, 'retention expired old builds');
}

/** Deletes stored blobs that no row references and that are old enough not to belong to a request in progress. */
export async function sweepOrphans(store: Store, blobs: BlobStore, pins: BlobPins, now = Date.now()): Promise<number> {
  let deleted = 0;
  for await (const blob of blobs.list()) {
    if (blob.modifiedAt.getTime() > now - ORPHAN_AGE_MS || pins.isPinned(blob.sha256)) continue;
    if (await store.blobReferenced(blob.sha256)) continue;
    await blobs.delete(blob.sha256);
    deleted++;
  }
  return deleted;
}

export function startRetention(
  store: Store,
  blobs: BlobStore,
  pins: BlobPins,
  options: { retentionDays: number; retentionIntervalMs: number },
  log: FastifyBaseLogger,
  singleton: Singleton = ALWAYS,
): Loop {
  return startLoop(
    'retention',
    options.retentionIntervalMs,
    async () => {
      if (await singleton.holds()) await runRetention(store, blobs, pins, options.retentionDays, log);
    },
    log,
    Math.min(60_000, options.retentionIntervalMs),
  );
}
