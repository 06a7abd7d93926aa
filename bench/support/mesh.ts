/**
 * A real controller and a real worker process for the benchmarks that build
 * something, started with the e2e test helpers (not copies of them). Those
 * helpers register their clean-up on a node:test context; a Scope stands in
 * for it and runs the clean-ups, last registered first, on close().
 */
import type { BuildMeshClient, LogEntry } from '@buildmesh/protocol';
import { startTestController, type TestController } from '../../test/helpers/controller.js';
import { startTestWorker, waitForWorkerOnline, type TestWorker, type WorkerProcessOptions } from '../../test/helpers/worker.js';
import { readAllLogs, waitForStatus } from '../../test/helpers/builds.js';

export class Scope {
  private readonly cleanups: Array<() => void | Promise<void>> = [];
  after(fn: () => void | Promise<void>): void {
    this.cleanups.push(fn);
  }
  async close(): Promise<void> {
    for (const fn of this.cleanups.splice(0).reverse()) await fn();
  }
}

export interface Mesh {
  scope: Scope;
  controller: TestController;
  worker: TestWorker;
  admin: BuildMeshClient;
}

/**
 * Runs `fn` against a fresh controller and one online worker, then stops both.
 * Lease and heartbeat are at everyday values: the benchmarks load a 2-core
 * machine, and a test-speed lease could expire under that load.
 */
export async function withMesh<T>(worker: Pick<WorkerProcessOptions, 'sandbox' | 'env'>, fn: (mesh: Mesh) => Promise<T>): Promise<T> {
  const scope = new Scope();
  try {
    const controller = await startTestController(scope, { timing: { leaseTtlMs: 30_000, heartbeatIntervalMs: 1000, claimWaitMs: 30_000 } });
    const started = startTestWorker(scope, { url: controller.url, enrollmentToken: await controller.enrollmentToken('bench'), ...worker });
    await waitForWorkerOnline(controller.admin, started);
    return await fn({ scope, controller, worker: started, admin: controller.admin });
  } finally {
    await scope.close();
  }
}

/** Waits for the build to succeed (anything else fails the benchmark, with the log's tail). */
export async function expectSucceeded(mesh: Mesh, buildId: string, timeoutMs: number): Promise<void> {
  const build = await waitForStatus(mesh.admin, buildId, ['succeeded', 'failed', 'timed_out', 'canceled'], timeoutMs);
  if (build.status === 'succeeded') return;
  const tail = (await readAllLogs(mesh.admin, buildId)).slice(-30).map((e) => e.text);
  throw new Error(`build ${buildId} ${build.status}: ${JSON.stringify(build.error)}\n${tail.join('\n')}\n--- worker ---\n${mesh.worker.output().slice(-4000)}`);
}

/** The START_PHASE marker of a phase, by name. */
export function phaseStart(entries: LogEntry[], phase: string): LogEntry {
  const marker = entries.find((e) => e.marker === 'START_PHASE' && e.phase === phase);
  if (!marker) throw new Error(`no START_PHASE for ${phase} among ${entries.filter((e) => e.marker).map((e) => `${e.marker}:${e.phase}`).join(', ')}`);
  return marker;
}

/** The END_PHASE marker of a phase, by name. */
export function phaseEnd(entries: LogEntry[], phase: string): LogEntry {
  const marker = entries.find((e) => e.marker === 'END_PHASE' && e.phase === phase);
  if (!marker) throw new Error(`no END_PHASE for ${phase}`);
  return marker;
}
