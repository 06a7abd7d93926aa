/**
 * Real controller and worker processes for the benchmarks: the same entry points
 * an operator runs, on a free port with a temporary data dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildMeshClient } from '@buildmesh/protocol';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

export interface RunningProcess {
  child: ChildProcess;
  pid: number;
  stop(): Promise<void>;
}

/** Runs a TypeScript entry under tsx with a raised fd limit (10,000 long-polls need it). */
export function spawnTs(entry: string, env: Record<string, string>, options: { stdout?: 'pipe' | 'ignore' | 'inherit' } = {}): RunningProcess {
  const child = spawn('bash', ['-c', `ulimit -n $(ulimit -Hn); exec "${process.execPath}" --import tsx "${entry}"`], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', options.stdout ?? 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface BenchController extends RunningProcess {
  url: string;
  admin: BuildMeshClient;
  dataDir: string;
}

export async function startController(env: Record<string, string> = {}): Promise<BenchController> {
  const dataDir = mkdtempSync(join(tmpdir(), 'buildmesh-bench-'));
  const port = await freePort();
  const proc = spawnTs(join(ROOT, 'packages/controller/src/main.ts'), {
    BUILDMESH_PORT: String(port),
    BUILDMESH_DATA_DIR: dataDir,
    BUILDMESH_ADMIN_TOKEN: ADMIN_TOKEN,
    BUILDMESH_LOG_LEVEL: 'warn',
    ...env,
  });
  const url = `http://127.0.0.1:${port}`;
  const admin = new BuildMeshClient({ url, token: ADMIN_TOKEN });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await admin.health();
      break;
    } catch (err) {
      if (Date.now() > deadline || proc.child.exitCode !== null) throw new Error(`controller did not start: ${String(err)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    ...proc,
    url,
    admin,
    dataDir,
    async stop() {
      await proc.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
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
