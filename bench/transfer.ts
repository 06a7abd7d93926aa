/**
 * upload_2g_rss_growth_mb / download_2g_rss_growth_mb: the controller's peak RSS
 * growth while 2 GiB goes each way; upload_vs_loopback / download_vs_loopback:
 * throughput as a ratio to a plain loopback TCP copy of the same bytes into a file.
 * Every transfer here ends in writing 2 GiB and an fsync, and this VM's disk and page
 * cache swing 2-3x from one write to the next (the first copy of a run, onto a clean
 * cache, was the fastest of all), so each transfer is compared with the mean of the
 * loopback copies made right before and right after it. The controller and the CLI flush
 * large files behind as they write them (DurableWriter); the loopback copy fsyncs once at its end,
 * as a plain copy does, and the *_vs_flushed_loopback figures compare with one that flushes behind too.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DurableWriter } from '@buildmesh/protocol';
import { downloadArtifact } from '../packages/cli/src/download.js';
import { enrollWorkers, startController } from './support/processes.js';
import { rssMb, sampleRss } from './support/measure.js';
import { benchSpec, patternStream } from './support/sources.js';

const SIZE = 2 * 1024 ** 3;

/**
 * Bytes per second of generated data → TCP on 127.0.0.1 → a file, fsynced. `flushBehind`: written
 * the way the controller and the CLI write (DurableWriter), for the figures without the flush gain.
 */
async function loopbackCopy(dir: string, options: { flushBehind?: boolean } = {}): Promise<number> {
  const file = join(dir, 'loopback.bin');
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    if (options.flushBehind) {
      void open(file, 'w').then((fh) => {
        const writer = new DurableWriter(fh);
        const sink = new Writable({
          writev: (chunks, done) => void writer.write(chunks.map((c) => c.chunk as Buffer)).then(() => done(), done),
          final: (done) => void writer.sync().then(() => done(), done),
        });
        sink.on('error', (err) => socket.destroy(err));
        sink.on('finish', async () => {
          await fh.close();
          socket.end('k');
        });
        socket.pipe(sink);
      });
      return;
    }
    const out = createWriteStream(file);
    socket.pipe(out);
    out.on('finish', async () => {
      const fh = await open(file, 'r+');
      await fh.sync();
      await fh.close();
      socket.end('k');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('data', () => resolve()); // the server's ack after its fsync
    socket.once('error', reject);
    patternStream(SIZE).pipe(socket);
  });
  const seconds = (performance.now() - t0) / 1000;
  server.close();
  rmSync(file, { force: true });
  return SIZE / seconds;
}

export async function benchTransfer(): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'buildmesh-bench-transfer-'));
  const controller = await startController({ BUILDMESH_MAX_SOURCE_BYTES: '3GiB', BUILDMESH_MAX_ARTIFACT_BYTES: '3GiB' });
  try {
    const loopbackBefore = await loopbackCopy(dir);

    // Upload: the source of a build as the CLI sends it, a raw body named by its sha256 (hashed first, as the CLI does while packing).
    const hash = createHash('sha256');
    await pipeline(patternStream(SIZE), hash);
    const sha256 = hash.digest('hex');
    const baseUp = rssMb(controller.pid);
    let sampler = sampleRss(controller.pid);
    let t0 = performance.now();
    await controller.admin.uploadBlob({ sha256, size: SIZE }, patternStream(SIZE));
    const upSeconds = (performance.now() - t0) / 1000;
    const upPeak = sampler.stop();
    const loopbackBetween = await loopbackCopy(dir);
    const build = await controller.admin.createBuildFromBlob({ spec: benchSpec(), source: { sha256, size: SIZE } });

    // Download: the same bytes as an artifact uploaded by a worker, then fetched with the API.
    const [worker] = await enrollWorkers(controller.admin, 1);
    const job = await worker!.claim(5000);
    if (!job || job.build.id !== build.id) throw new Error('the worker did not get the build');
    const artifact = await worker!.uploadArtifact(job.attempt.id, { name: 'big.bin', kind: 'other', size: SIZE, sha256, stream: patternStream(SIZE) });
    await worker!.finish(job.attempt.id, { outcome: 'succeeded' });

    const baseDown = rssMb(controller.pid);
    sampler = sampleRss(controller.pid);
    t0 = performance.now();
    // The CLI's own download: streamed through undici, hashed, fsynced (flushed behind), verified, renamed.
    const downloaded = await downloadArtifact(controller.admin, artifact, dir);
    const downSeconds = (performance.now() - t0) / 1000;
    const downPeak = sampler.stop();
    rmSync(downloaded.path, { force: true });
    const loopbackAfter = await loopbackCopy(dir);
    const flushedLoopback = await loopbackCopy(dir, { flushBehind: true });

    return {
      upload_2g_rss_growth_mb: upPeak - baseUp,
      download_2g_rss_growth_mb: downPeak - baseDown,
      upload_vs_loopback: SIZE / upSeconds / ((loopbackBefore + loopbackBetween) / 2),
      download_vs_loopback: SIZE / downSeconds / ((loopbackBetween + loopbackAfter) / 2),
      loopback_mb_per_s: (loopbackBefore + loopbackBetween + loopbackAfter) / 3 / 1024 ** 2,
      // The same transfers against a loopback copy that also flushes behind: what is left is our own overhead.
      upload_vs_flushed_loopback: SIZE / upSeconds / flushedLoopback,
      download_vs_flushed_loopback: SIZE / downSeconds / flushedLoopback,
    };
  } finally {
    await controller.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
