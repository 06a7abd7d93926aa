import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DurableWriter, FLUSH_EVERY_BYTES } from '@buildmesh/protocol';

const MiB = 1024 * 1024;

/**
 * A real file's handle whose flushes are recorded and held until released; `shortWrites` makes each
 * writev take at most that many bytes, `failDatasync` fails flushes as a broken disk does.
 */
async function recordedFile(t: { after(fn: () => Promise<void>): void }, options: { shortWrites?: number; failDatasync?: Error } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'buildmesh-durable-'));
  const path = join(dir, 'file');
  const handle = await open(path, 'w');
  t.after(async () => {
    await handle.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  const calls: string[] = [];
  let release: () => void = () => undefined;
  const recorded = {
    writev: async (buffers: Buffer[]) => {
      if (!options.shortWrites) return handle.writev(buffers);
      const part = Buffer.concat(buffers).subarray(0, options.shortWrites);
      const { bytesWritten } = await handle.write(part);
      return { bytesWritten, buffers };
    },
    datasync: async () => {
      calls.push('datasync');
      await new Promise<void>((r) => (release = r));
      if (options.failDatasync) throw options.failDatasync;
      await handle.datasync();
    },
    sync: async () => {
      calls.push('sync');
      await handle.sync();
    },
  };
  return { recorded, calls, release: () => release(), path };
}

test('a background flush starts after every FLUSH_EVERY_BYTES written, one at a time, and sync waits for it', async (t) => {
  const { recorded, calls, release } = await recordedFile(t);
  const writer = new DurableWriter(recorded);
  const mib = Buffer.alloc(MiB);
  await writer.write(Array.from({ length: FLUSH_EVERY_BYTES / MiB - 1 }, () => mib));
  assert.deepEqual(calls, []);
  await writer.write([mib]);
  assert.deepEqual(calls, ['datasync']);
  await writer.write(Array.from({ length: FLUSH_EVERY_BYTES / MiB }, () => mib)); // one is in flight: none other starts
  assert.deepEqual(calls, ['datasync']);
  const synced = writer.sync();
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(calls, ['datasync'], 'the final fsync waits for the flush in flight');
  release();
  await synced;
  assert.deepEqual(calls, ['datasync', 'sync']);
  await writer.write(Array.from({ length: FLUSH_EVERY_BYTES / MiB }, () => mib));
  assert.deepEqual(calls, ['datasync', 'sync', 'datasync'], 'the next flush starts once the first has ended');
  release();
});

test('short writes go on where they stopped: the file holds every byte, in order', async (t) => {
  const { recorded, path } = await recordedFile(t, { shortWrites: 7 });
  const writer = new DurableWriter(recorded);
  const parts = [Buffer.from('hello, '), Buffer.from('durable '), Buffer.from('world')];
  await writer.write(parts);
  await writer.write([Buffer.from('!')]);
  await writer.sync();
  assert.equal(await readFile(path, 'utf8'), 'hello, durable world!');
});

test('a failed background flush fails the final sync (the file is never reported durable)', async (t) => {
  const { recorded, calls, release } = await recordedFile(t, { failDatasync: Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }) });
  const writer = new DurableWriter(recorded);
  await writer.write(Array.from({ length: FLUSH_EVERY_BYTES / MiB }, () => Buffer.alloc(MiB)));
  release();
  await new Promise((r) => setImmediate(r));
  assert.equal(writer.failed, true);
  await assert.rejects(writer.write([Buffer.from('more')]), { code: 'EIO' }, 'no more bytes go to a disk that failed');
  await assert.rejects(writer.sync(), { code: 'EIO' });
  assert.deepEqual(calls, ['datasync']);
});
