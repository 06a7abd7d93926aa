/**
 * The blob conformance suite: the filesystem and the S3 backends run exactly
 * these tests (put, get, range, stat, delete, listing for retention; refused
 * and cut uploads leave nothing visible, nor any temp data behind).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, before, after } from 'node:test';
import { ApiError } from '@buildmesh/protocol';
import type { BlobStore } from '../../src/blobs/blob-store.js';
import { BlobPins } from '../../src/blobs/pins.js';
import { newId } from '../../src/ids.js';
import { sweepOrphans } from '../../src/scheduler/retention.js';
import { openSqliteStore } from '../../src/store/sqlite.js';

export interface BlobBackend {
  store: BlobStore;
  /** Temp data (files, keys, multipart uploads) still present: must be 0 after every upload ends. */
  leftovers(): Promise<number>;
  close(): Promise<void>;
}

const MiB = 1024 * 1024;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const bytesOf = async (stream: Readable): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};
/** A body sent in 1 MiB pieces, like a network upload. */
const chunked = (b: Buffer): Readable => Readable.from((function* () { for (let i = 0; i < b.length; i += MiB) yield b.subarray(i, i + MiB); })(), { objectMode: false });
const refusedWith = (code: string) => (err: unknown): boolean => err instanceof ApiError && err.code === code;

async function listed(store: BlobStore): Promise<string[]> {
  const out: string[] = [];
  for await (const blob of store.list()) out.push(blob.sha256);
  return out.sort();
}

export function runBlobConformance(name: string, open: () => Promise<BlobBackend>): void {
  describe(`blob conformance: ${name}`, () => {
    let backend: BlobBackend;
    let store: BlobStore;
    before(async () => {
      backend = await open();
      store = backend.store;
    });
    after(async () => backend.close());

    test('a small blob is stored under its sha256 and read back whole and by range', async () => {
      const body = Buffer.from('hello, blob store\n');
      const stored = await store.put(Readable.from([body]), { maxBytes: 1024 });
      assert.deepEqual(stored, { sha256: sha(body), size: body.length });
      assert.deepEqual(await store.stat(stored.sha256), { size: body.length });
      assert.equal(await text(await store.get(stored.sha256)), body.toString());
      assert.equal(await text(await store.get(stored.sha256, { start: 7, end: 10 })), 'blob');
      assert.equal(await text(await store.get(stored.sha256, { start: body.length - 1, end: body.length - 1 })), '\n');
    });

    test('an empty body is a blob too', async () => {
      const stored = await store.put(Readable.from([]), { maxBytes: 10, expectedSize: 0 });
      assert.equal(stored.size, 0);
      assert.equal(stored.sha256, sha(Buffer.alloc(0)));
      assert.equal((await bytesOf(await store.get(stored.sha256))).length, 0);
    });

    test('a large blob streams in and out intact, ranges at part boundaries included', async () => {
      const body = randomBytes(21 * MiB);
      const stored = await store.put(chunked(body), { maxBytes: 64 * MiB, expectedSha256: sha(body), expectedSize: body.length });
      assert.equal(stored.sha256, sha(body));
      assert.equal(sha(await bytesOf(await store.get(stored.sha256))), sha(body));
      const start = 16 * MiB - 3;
      const part = await bytesOf(await store.get(stored.sha256, { start, end: start + 9 }));
      assert.deepEqual(part, body.subarray(start, start + 10));
      assert.equal(await backend.leftovers(), 0);
    });

    test('the same bytes twice are one blob', async () => {
      const body = randomBytes(1000);
      const before = (await listed(store)).length;
      const a = await store.put(Readable.from([body]), { maxBytes: 2000 });
      const b = await store.put(Readable.from([body]), { maxBytes: 2000 });
      assert.equal(a.sha256, b.sha256);
      assert.equal((await listed(store)).length, before + 1);
    });

    for (const size of [1000, 12 * MiB]) {
      test(`a wrong declared sha256 or size is refused and nothing becomes visible (${size} bytes)`, async () => {
        const body = randomBytes(size);
        const before = await listed(store);
        await assert.rejects(store.put(chunked(body), { maxBytes: 64 * MiB, expectedSha256: sha(randomBytes(8)) }), refusedWith('CHECKSUM_MISMATCH'));
        await assert.rejects(store.put(chunked(body), { maxBytes: 64 * MiB, expectedSize: size + 1 }), refusedWith('SIZE_MISMATCH'));
        await assert.rejects(store.put(chunked(body), { maxBytes: 64 * MiB, expectedSize: size - 1 }), refusedWith('SIZE_MISMATCH'));
        await assert.rejects(store.put(chunked(body), { maxBytes: size - 1 }), refusedWith('PAYLOAD_TOO_LARGE'));
        assert.equal(await store.stat(sha(body)), undefined);
        assert.deepEqual(await listed(store), before);
        assert.equal(await backend.leftovers(), 0);
      });

      test(`a cut upload leaves nothing visible (${size} bytes before the cut)`, async () => {
        const body = randomBytes(size);
        const before = await listed(store);
        const source = new PassThrough();
        const pending = store.put(source, { maxBytes: 64 * MiB });
        source.write(body);
        setTimeout(() => source.destroy(), 200);
        await assert.rejects(pending, refusedWith('BODY_INCOMPLETE'));
        assert.deepEqual(await listed(store), before);
        assert.equal(await backend.leftovers(), 0);
      });
    }

    test('a body that stalls is cut after the idle timeout', async () => {
      const source = new PassThrough();
      source.write(randomBytes(100));
      await assert.rejects(store.put(source, { maxBytes: MiB, idleTimeoutMs: 200 }), refusedWith('BODY_TIMEOUT'));
      source.destroy();
      assert.equal(await backend.leftovers(), 0);
    });

    test('delete removes a blob; reading it then answers NOT_FOUND; deleting again is harmless', async () => {
      const body = randomBytes(300);
      const { sha256 } = await store.put(Readable.from([body]), { maxBytes: 1000 });
      assert.ok((await listed(store)).includes(sha256));
      await store.delete(sha256);
      assert.equal(await store.stat(sha256), undefined);
      await assert.rejects(store.get(sha256), refusedWith('NOT_FOUND'));
      await store.delete(sha256);
      assert.ok(!(await listed(store)).includes(sha256));
    });

    test('listing names every blob with its size and age', async () => {
      const body = randomBytes(4321);
      const { sha256 } = await store.put(Readable.from([body]), { maxBytes: 10_000 });
      let found: { size: number; modifiedAt: Date } | undefined;
      for await (const blob of store.list()) if (blob.sha256 === sha256) found = blob;
      assert.equal(found?.size, 4321);
      assert.ok(Math.abs(found!.modifiedAt.getTime() - Date.now()) < 5 * 60_000);
    });

    test('retention lists the blobs and deletes only old ones that no row references and no upload pins', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'buildmesh-retention-'));
      const db = await openSqliteStore(join(dir, 'controller.db'));
      try {
        await db.migrate();
        const org = await db.createOrg({ id: newId('org'), name: `r-${Date.now()}` });
        const project = await db.ensureProject(org.id, newId('prj'), 'app');
        const put = async () => store.put(Readable.from([randomBytes(500)]), { maxBytes: 1000 });
        const [referenced, orphan, pinned] = [await put(), await put(), await put()];
        await db.createBuild({
          id: newId('bld'),
          orgId: org.id,
          projectId: project.id,
          spec: { project: 'app', platform: 'web', profile: { name: 'production', env: {} } },
          source: referenced,
          credentialsSealed: null,
          retryOf: null,
        });
        const pins = new BlobPins();
        const release = pins.pin(pinned.sha256);
        // Young blobs are left alone: their request may still be committing its row.
        await sweepOrphans(db, store, pins);
        assert.ok((await store.stat(orphan.sha256)) !== undefined);
        await sweepOrphans(db, store, pins, Date.now() + 2 * 24 * 60 * 60 * 1000);
        assert.equal(await store.stat(orphan.sha256), undefined);
        assert.ok((await store.stat(referenced.sha256)) !== undefined);
        assert.ok((await store.stat(pinned.sha256)) !== undefined);
        release();
      } finally {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('a name that is not a sha256 reaches nothing', async () => {
      await assert.rejects(store.get('../../etc/passwd'), refusedWith('NOT_FOUND'));
      await assert.rejects(store.get('A'.repeat(64)), refusedWith('NOT_FOUND'));
      await assert.rejects(store.get('0'.repeat(64)), refusedWith('NOT_FOUND'));
      assert.equal(await store.stat('0'.repeat(64)), undefined);
    });

    test('the health check passes', async () => {
      await store.check();
    });
  });
}
