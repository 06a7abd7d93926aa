/**
 * A real worker process (`node --import tsx packages/worker/src/main.ts`) with its own work and
 * config directories, configured through BUILDMESH_* variables as an operator would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BuildMeshClient, WorkerInfo } from '@buildmesh/protocol';
import { spawnNode, type TestProcess } from './processes.js';
import { waitFor } from './wait.js';

type T = { after(fn: () => void | Promise<void>): void };

export interface TestWorker extends TestProcess {
  name: string;
  workDir: string;
  configDir: string;
}

export interface WorkerProcessOptions {
  url: string;
  enrollmentToken: string;
  name?: string;
  sandbox?: 'auto' | 'none' | 'bwrap';
  concurrency?: number;
  labels?: string;
  env?: Record<string, string>;
}

export function startTestWorker(t: T, options: WorkerProcessOptions): TestWorker {
  const root = mkdtempSync(join(tmpdir(), 'buildmesh-e2e-worker-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const name = options.name ?? `worker-${Math.random().toString(36).slice(2, 8)}`;
  const workDir = join(root, 'work');
  const configDir = join(root, 'config');
  const proc = spawnNode(
    'packages/worker/src/main.ts',
    {
      BUILDMESH_URL: options.url,
      BUILDMESH_ENROLLMENT_TOKEN: options.enrollmentToken,
      BUILDMESH_WORKER_NAME: name,
      BUILDMESH_WORK_DIR: workDir,
      BUILDMESH_CONFIG_DIR: configDir,
      BUILDMESH_SANDBOX: options.sandbox ?? 'auto',
      BUILDMESH_CONCURRENCY: String(options.concurrency ?? 1),
      BUILDMESH_LOG_LEVEL: 'info',
      ...(options.labels ? { BUILDMESH_LABELS: options.labels } : {}),
      ...options.env,
    },
    t,
  );
  return Object.assign(proc, { name, workDir, configDir });
}

/** Waits until the controller lists the worker as online; returns what it knows about it. */
export async function waitForWorkerOnline(admin: BuildMeshClient, worker: TestWorker, timeoutMs = 30_000): Promise<WorkerInfo> {
  return waitFor(
    async () => {
      if (worker.child.exitCode !== null) throw new Error(`worker exited: ${worker.output()}`);
      const { workers } = await admin.listWorkers();
      return workers.find((w) => w.name === worker.name && w.state === 'online');
    },
    { timeoutMs, what: `worker ${worker.name} to be online` },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n--- worker output ---\n${worker.output()}`);
  });
}
