/**
 * A real controller process (`node --import tsx packages/controller/src/main.ts`) on a temp data
 * dir and a fixed free port, with short heartbeat / lease / sweep intervals so that lease expiry
 * and cancels happen within a test's seconds. It can be killed (-9) and started again on the same
 * data dir and port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildMeshClient } from '@buildmesh/protocol';
import { freePort, spawnNode, type TestProcess } from './processes.js';
import { waitFor } from './wait.js';

type T = { after(fn: () => void | Promise<void>): void };

export interface ControllerTiming {
  heartbeatIntervalMs: number;
  leaseTtlMs: number;
  sweepIntervalMs: number;
  claimWaitMs: number;
}

export const FAST_TIMING: ControllerTiming = { heartbeatIntervalMs: 300, leaseTtlMs: 2500, sweepIntervalMs: 100, claimWaitMs: 5000 };

export interface TestController {
  url: string;
  port: number;
  dataDir: string;
  adminToken: string;
  timing: ControllerTiming;
  /** Authenticated with the instance admin token. */
  admin: BuildMeshClient;
  process: TestProcess;
  /** kill -9, as a crash would. */
  crash(): Promise<void>;
  /** Starts the controller again on the same data dir and port. */
  restart(): Promise<void>;
  /** A fresh enrollment token secret for the admin's org pool. */
  enrollmentToken(name?: string): Promise<string>;
}

export async function startTestController(t: T, options: { timing?: Partial<ControllerTiming>; env?: Record<string, string> } = {}): Promise<TestController> {
  const dataDir = mkdtempSync(join(tmpdir(), 'buildmesh-e2e-controller-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const timing = { ...FAST_TIMING, ...options.timing };
  const adminToken = `admin-${Math.random().toString(36).slice(2)}-0123456789abcdefghij`;
  const url = `http://127.0.0.1:${port}`;
  const admin = new BuildMeshClient({ url, token: adminToken, timeoutMs: 10_000 });
  const env = {
    BUILDMESH_DATA_DIR: dataDir,
    BUILDMESH_PORT: String(port),
    BUILDMESH_HOST: '127.0.0.1',
    BUILDMESH_ADMIN_TOKEN: adminToken,
    BUILDMESH_HEARTBEAT_INTERVAL_MS: String(timing.heartbeatIntervalMs),
    BUILDMESH_LEASE_TTL_MS: String(timing.leaseTtlMs),
    BUILDMESH_SWEEP_INTERVAL_MS: String(timing.sweepIntervalMs),
    BUILDMESH_CLAIM_WAIT_MS: String(timing.claimWaitMs),
    BUILDMESH_LOG_LEVEL: 'warn',
    ...options.env,
  };

  const launch = async (): Promise<TestProcess> => {
    const proc = spawnNode('packages/controller/src/main.ts', env, t);
    await waitFor(
      async () => {
        if (proc.child.exitCode !== null) throw new Error(`controller exited: ${proc.output()}`);
        return (await admin.health()).status === 'ok';
      },
      { timeoutMs: 30_000, what: 'the controller to answer /health' },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- controller output ---\n${proc.output()}`);
    });
    return proc;
  };

  const controller: TestController = {
    url,
    port,
    dataDir,
    adminToken,
    timing,
    admin,
    process: await launch(),
    async crash() {
      controller.process.kill('SIGKILL');
      await controller.process.exited;
    },
    async restart() {
      controller.process = await launch();
    },
    async enrollmentToken(name = 'e2e') {
      return (await admin.createEnrollmentToken(name)).secret;
    },
  };
  return controller;
}
