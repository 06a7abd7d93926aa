import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBlobStore } from '../src/blobs/fs.js';
import { runBlobConformance } from './blobs/conformance.js';

runBlobConformance('filesystem', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'buildmesh-blobs-'));
  const store = await FsBlobStore.open(dir);
  return {
    store,
    leftovers: async () => readdirSync(join(dir, 'tmp')).length,
    close: async () => rmSync(dir, { recursive: true, force: true }),
  };
});
