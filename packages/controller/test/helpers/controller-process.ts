/**
 * A real controller process for tests: `node --import tsx src/main.ts` on a free
 * port with a temp data dir and short timings. kill() and restart() act on the
 * real process (SIGKILL included); restart() keeps the data dir and the port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BuildMeshClient } from '@buildmesh/protocol';
import { createTestDatabase } from '../../../../test/helpers/postgres.js';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** Short timings so lease lapses and sweeps happen within a test's seconds. */
export const FAST_TIMINGS: Record<string, string> = {
  BUILDMESH_HEARTBEAT_INTERVAL_MS: '200',
  BUILDMESH_LEASE_TTL_MS: '1500',
  BUILDMESH_CLAIM_WAIT_MS: '2000',
  BUILDMESH_SWEEP_INTERVAL_MS: '100',
  BUILDMESH_BODY_IDLE_TIMEOUT_MS: '1000',
  BUILDMESH_LOG_LEVEL: 'warn',
};

export interface ControllerProcess {
  url: string;
  port: number;
  dataDir: string;
  adminToken: string;
  /** A client with the instance admin token. */
  admin: BuildMeshClient;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  process: ChildProcess;
  alive(): boolean;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  /** Starts a new process on the same data dir and port (after kill()); `env` changes settings from then on. */
  restart(env?: Record<string, string>): Promise<void>;
  /** Stops the process (SIGTERM) and removes the data dir. */
  dispose(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string>;
  dataDir?: string;
}

async function spawnController(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; log: string[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  child.stderr!.setEncoding('utf8').on('data', (d: string) => log.push(d));
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`controller did not start within 20 s:\n${stdout}${log.join('')}`)), 20_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      log.push(d);
      const m = /listening on (http:\/\/\S+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`controller exited with ${code} before listening:\n${stdout}${log.join('')}`));
    });
  });
  return { child, url, log };
}

export async function startControllerProcess(options: StartOptions = {}): Promise<ControllerProcess> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'buildmesh-test-')));
  const adminToken = `test-admin-${randomBytes(18).toString('hex')}`;
  const env: Record<string, string> = { ...FAST_TIMINGS, ...options.env, BUILDMESH_DATA_DIR: dataDir, BUILDMESH_ADMIN_TOKEN: adminToken, BUILDMESH_PORT: '0', BUILDMESH_HOST: '127.0.0.1' };
  let current = await spawnController(env);
  const port = Number(new URL(current.url).port);
  const logs: string[][] = [current.log];

  const exited = (child: ChildProcess) =>
    new Promise<number | null>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
      else child.once('exit', (code) => resolve(code));
    });

  const handle: ControllerProcess = {
    url: current.url,
    port,
    dataDir,
    adminToken,
    admin: new BuildMeshClient({ url: current.url, token: adminToken }),
    output: () => logs.map((l) => l.join('')).join('\n--- restart ---\n'),
    get process() {
      return current.child;
    },
    alive: () => current.child.exitCode === null && current.child.signalCode === null,
    async kill(signal = 'SIGKILL') {
      const done = exited(current.child);
      current.child.kill(signal);
      return done;
    },
    async restart(changed: Record<string, string> = {}) {
      Object.assign(env, changed);
      current = await spawnController({ ...env, BUILDMESH_PORT: String(port) });
      logs.push(current.log);
    },
    async dispose() {
      if (handle.alive()) {
        const done = exited(current.child);
        current.child.kill('SIGTERM');
        const timer = setTimeout(() => current.child.kill('SIGKILL'), 5000);
        await done;
        clearTimeout(timer);
      }
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return handle;
}

/**
 * A controller process on `store`, disposed (and on PostgreSQL its fresh database dropped) when the
 * test ends: the per-store tests start theirs with this.
 */
export async function startControllerOn(
  store: 'sqlite' | 'postgres',
  t: { after(fn: () => unknown): void },
  env: Record<string, string> = {},
): Promise<ControllerProcess> {
  if (store === 'postgres') {
    const database = await createTestDatabase();
    t.after(() => database.drop());
    env = { ...env, BUILDMESH_DATABASE_URL: database.url, BUILDMESH_ENCRYPTION_KEY: randomBytes(32).toString('base64') };
  }
  const controller = await startControllerProcess({ env });
  t.after(() => controller.dispose());
  return controller;
}
