/**
 * A real BuildMesh for CLI tests: a controller process (`buildmesh controller`) on a free port
 * with its own data dir, and optionally a worker process (`buildmesh worker`, no sandbox for
 * speed) enrolled through `buildmesh admin enroll-token create`. Everything lives in one temp
 * directory that is removed afterwards; every process is killed.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { freePort } from '../../../../test/helpers/processes.js';
import { runJson, spawnCli, waitForExit, waitForJsonLine } from './cli.js';

export { freePort };

type Child = ReturnType<typeof spawnCli>;

export interface Mesh {
  url: string;
  adminToken: string;
  root: string;
  dataDir: string;
  /** For CLI runs: the controller URL and admin token in the environment, and a private config dir. */
  env: NodeJS.ProcessEnv;
  /** A fresh config dir with nothing in the environment: for login tests. */
  configHome: string;
  controller: Child;
  worker: Child | null;
  startWorker(): Promise<Child>;
  /** kill -9 the controller (the worker and followers stay up). */
  killController(): Promise<void>;
  /** Starts the controller again on the same port and data dir. */
  startController(): Promise<void>;
  close(): Promise<void>;
}

export interface MeshOptions {
  worker?: boolean;
  /** Extra controller environment (timings). */
  controllerEnv?: NodeJS.ProcessEnv;
}

export async function startMesh(t: { after(fn: () => Promise<void> | void): void }, options: MeshOptions = {}): Promise<Mesh> {
  const root = mkdtempSync(join(tmpdir(), 'buildmesh-cli-'));
  const dataDir = join(root, 'data');
  const configHome = join(root, 'config');
  mkdirSync(configHome, { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // Known in advance, so a restarted controller accepts the same token.
  const adminToken = `test-admin-${randomBytes(16).toString('hex')}`;
  const children = new Set<ChildProcess>();
  const env = { BUILDMESH_URL: url, BUILDMESH_TOKEN: adminToken, XDG_CONFIG_HOME: configHome };

  const mesh: Mesh = {
    url,
    adminToken,
    root,
    dataDir,
    env,
    configHome,
    controller: null as unknown as Child,
    worker: null,
    async startController() {
      const child = spawnCli(['controller', '--json', '--port', String(port), '--data-dir', dataDir], {
        env: { BUILDMESH_ADMIN_TOKEN: adminToken, BUILDMESH_LOG_LEVEL: 'warn', XDG_CONFIG_HOME: configHome, ...options.controllerEnv },
      });
      children.add(child);
      child.on('exit', () => children.delete(child));
      await waitForJsonLine(child, (v) => typeof v.url === 'string', 60_000);
      mesh.controller = child;
    },
    async killController() {
      mesh.controller.kill('SIGKILL');
      await waitForExit(mesh.controller);
    },
    async startWorker() {
      const created = await runJson<{ secret: string }>(['admin', 'enroll-token', 'create', 'test-worker', '--json'], { env });
      const tokenFile = join(root, `enroll-${children.size}`);
      writeFileSync(tokenFile, created.secret + '\n', { mode: 0o600 });
      const child = spawnCli(
        ['worker', '--json', '--url', url, '--token-file', tokenFile, '--name', `test-worker-${children.size}`, '--sandbox', 'none',
          '--work-dir', join(root, 'work'), '--config-dir', join(root, 'worker-config'), '--log-level', 'warn'],
        { env: { XDG_CONFIG_HOME: configHome } },
      );
      children.add(child);
      child.on('exit', () => children.delete(child));
      await waitForJsonLine(child, (v) => typeof v.workerId === 'string', 60_000);
      mesh.worker = child;
      return child;
    },
    async close() {
      // Worker first (it would otherwise retry against a dead controller), then the rest.
      const ordered = [...children].sort((a, b) => (a === mesh.worker ? -1 : b === mesh.worker ? 1 : 0));
      for (const child of ordered) {
        child.kill('SIGTERM');
        await waitForExit(child, 10_000); // SIGKILL after 10 s
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
  t.after(() => mesh.close());
  await mesh.startController();
  if (options.worker) await mesh.startWorker();
  return mesh;
}
