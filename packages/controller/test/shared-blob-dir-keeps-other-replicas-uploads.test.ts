/**
 * Replicas share one blob directory. A replica starting up must not delete the
 * temp file of an upload another replica is writing right now; leftovers nobody
 * has touched for the stale window are still cleaned. (One controller alone owns
 * its dir and removes every temp file at start, as before.)
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FsBlobStore } from '../src/blobs/fs.js';

test('a replica starting on a shared blob dir keeps uploads in progress and removes stale leftovers', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'buildmesh-shared-blobs-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'tmp'), { recursive: true });
  const live = join(root, 'tmp', 'live.part');
  const stale = join(root, 'tmp', 'stale.part');
  writeFileSync(live, 'being written by replica A');
  writeFileSync(stale, 'left by a replica killed an hour ago');
  const hourAgo = new Date(Date.now() - 3600_000);
  utimesSync(stale, hourAgo, hourAgo);

  await FsBlobStore.open(root, { sharedStaleAfterMs: 10 * 60_000 });
  assert.ok(existsSync(live), 'the upload in progress is untouched');
  assert.ok(!existsSync(stale), 'the stale leftover is removed');

  await FsBlobStore.open(root);
  assert.ok(!existsSync(live), 'a lone controller owns its dir and clears every temp file');
});
