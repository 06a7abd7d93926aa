/**
 * A real controller process for the protocol-level benchmarks, started with the
 * e2e test helpers (the same entry point an operator runs, on a free port with a
 * temporary data dir), plus protocol-level workers enrolled through the API.
 */
import type { BuildMeshClient } from '@buildmesh/protocol';
import { startTestController } from '../../test/helpers/controller.js';
import { REPO_ROOT, spawnNode, type TestProcess } from '../../test/helpers/processes.js';
import { Scope } from './mesh.js';

export const ROOT = REPO_ROOT;

export interface BenchController {
  url: string;
  admin: BuildMeshClient;
  adminToken: string;
  pid: number;
  dataDir: string;
  stop(): Promise<void>;
}

/** Everyday timings: a benchmark loads the machine, and a test-speed lease could lapse under it. */
export async function startController(env: Record<string, string> = {}, timing: { claimWaitMs?: number; leaseTtlMs?: number } = {}): Promise<BenchController> {
  const scope = new Scope();
  const controller = await startTestController(scope, {
    timing: { heartbeatIntervalMs: 1000, leaseTtlMs: 30_000, sweepIntervalMs: 1000, claimWaitMs: 25_000, ...timing },
    env,
  });
  return { url: controller.url, admin: controller.admin, adminToken: controller.adminToken, pid: controller.process.pid, dataDir: controller.dataDir, stop: () => scope.close() };
}

/** A TypeScript entry as its own process (the idle-workers load generator), stopped with the returned scope. */
export function spawnTs(entry: string, env: Record<string, string>): TestProcess & { stop(): Promise<void> } {
  const scope = new Scope();
  const proc = spawnNode(entry, env, scope);
  return Object.assign(proc, { stop: () => scope.close() });
}

/** Enrolls `count` protocol-level workers (the claim/finish side of the benchmarks). */
export async function enrollWorkers(
  admin: BuildMeshClient,
  count: number,
  options: { concurrency?: number; platforms?: Array<'android' | 'ios' | 'web'> } = {},
): Promise<BuildMeshClient[]> {
  const { secret } = await admin.createEnrollmentToken(`bench-${Date.now()}`);
  const enroller = admin.withToken(secret);
  const clients: BuildMeshClient[] = [];
  for (let i = 0; i < count; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, count - i) }, (_, j) =>
        enroller.enroll({ name: `bench-${i + j}`, platforms: options.platforms ?? ['web'], labels: {}, concurrency: options.concurrency ?? 1, version: 'bench' }),
      ),
    );
    for (const e of batch) clients.push(admin.withToken(e.credential));
  }
  return clients;
}
