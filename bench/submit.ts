/**
 * submit_seq_per_s and submit_c20_per_s: tiny builds acknowledged per second, one at a time and 20 in
 * flight, on the CLI's path (the source uploaded once, then small JSON build creations that name it).
 * submit_multipart_seq_per_s: the one-request multipart submit, for comparison.
 * submit_c20_full_per_s and submit_full_vs_normal: 20 in flight on a controller with
 * BUILDMESH_SQLITE_SYNCHRONOUS=full (an fsync per commit, shared by group commit), and its ratio
 * to submit_c20_per_s (target ≤ 2).
 * resubmit_upload_bytes: bytes the controller receives when an unchanged project is submitted again
 * (presence check first, as the CLI does), counted at the server.
 */
import { createHash } from 'node:crypto';
import { startController, type BenchController } from './support/processes.js';
import { benchSpec, streamOf, tinySource } from './support/sources.js';
import { WARM_UP_OPERATIONS } from './support/measure.js';

/** Builds acknowledged per second with 20 submits in flight against `controller`. */
async function concurrentSubmits(admin: BenchController['admin'], ref: { sha256: string; size: number }, count: number): Promise<number> {
  const submit = () => admin.createBuildFromBlob({ spec: benchSpec(), source: ref });
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (next++ < count) await submit();
    }),
  );
  return count / ((performance.now() - t0) / 1000);
}

/** submit_c20_per_s again, on a controller whose SQLite fsyncs every commit. */
async function fullSynchronousSubmits(count: number): Promise<number> {
  const controller = await startController({ BUILDMESH_SQLITE_SYNCHRONOUS: 'full' });
  try {
    const source = await tinySource();
    const ref = { sha256: createHash('sha256').update(source).digest('hex'), size: source.length };
    await controller.admin.uploadBlob(ref, streamOf(source));
    await concurrentSubmits(controller.admin, ref, WARM_UP_OPERATIONS);
    return await concurrentSubmits(controller.admin, ref, count);
  } finally {
    await controller.stop();
  }
}

export async function benchSubmit(count = 1000): Promise<Record<string, number>> {
  const full = await fullSynchronousSubmits(count);
  const controller = await startController();
  try {
    const source = await tinySource();
    const ref = { sha256: createHash('sha256').update(source).digest('hex'), size: source.length };
    const uploadedBytes = async (): Promise<number> => {
      const text = await (await fetch(`${controller.url}/metrics`, { headers: { authorization: `Bearer ${controller.adminToken}` } })).text();
      return Number(/^buildmesh_blob_upload_bytes_total (\d+)/m.exec(text)?.[1] ?? 0);
    };
    /** What `buildmesh build` does: upload only if the org does not have it, then create. */
    const submitLikeCli = async () => {
      if (!(await controller.admin.blobPresence([ref])).present.includes(ref.sha256)) await controller.admin.uploadBlob(ref, streamOf(source));
      return controller.admin.createBuildFromBlob({ spec: benchSpec(), source: ref });
    };
    await submitLikeCli();
    const before = await uploadedBytes();
    await submitLikeCli();
    const resubmitBytes = (await uploadedBytes()) - before;

    const submit = () => controller.admin.createBuildFromBlob({ spec: benchSpec(), source: ref });
    await concurrentSubmits(controller.admin, ref, WARM_UP_OPERATIONS);

    let t0 = performance.now();
    for (let i = 0; i < count; i++) await submit();
    const seq = count / ((performance.now() - t0) / 1000);

    const c20 = await concurrentSubmits(controller.admin, ref, count);

    const multipart = () => controller.admin.createBuild(benchSpec(), streamOf(source));
    for (let i = 0; i < WARM_UP_OPERATIONS / 4; i++) await multipart(); // the JSON submits warmed most of its path
    t0 = performance.now();
    for (let i = 0; i < count; i++) await multipart();
    const multipartSeq = count / ((performance.now() - t0) / 1000);
    return {
      submit_seq_per_s: seq,
      submit_c20_per_s: c20,
      submit_c20_full_per_s: full,
      submit_full_vs_normal: c20 / full,
      submit_multipart_seq_per_s: multipartSeq,
      resubmit_upload_bytes: resubmitBytes,
    };
  } finally {
    await controller.stop();
  }
}
