/**
 * Scale-out fixtures: N controller processes (replicas) on one fresh PostgreSQL
 * database with one encryption key and one blob directory, and nginx in front of
 * them running the documented config (docs/deploy/nginx-buildmesh.conf) on a
 * loopback port. Each replica can be killed (-9) and started again.
 */
import { randomBytes } from 'node:crypto';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildMeshClient } from '@buildmesh/protocol';
import { FAST_TIMING, type ControllerTiming } from './controller.js';
import { createTestDatabase, pgSkip, type TestDatabase } from './postgres.js';
import { freePort, REPO_ROOT, spawnNode, type TestProcess } from './processes.js';
import { skipUnless } from './system-services.js';
import { waitFor } from './wait.js';

type T = { after(fn: () => void | Promise<void>): void };

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
export const nginxSkip = skipUnless(NGINX !== undefined, 'nginx is not installed (apt-get install -y nginx)');
/** node:test `skip` for tests that need PostgreSQL and nginx: a reason outside CI, never under CI. */
export const replicaSkip: string | false = pgSkip || nginxSkip;

export interface Replica {
  id: string;
  url: string;
  port: number;
  admin: BuildMeshClient;
  process: TestProcess;
  alive(): boolean;
  crash(): Promise<void>;
  restart(): Promise<void>;
}

export interface ReplicaSet {
  database: TestDatabase;
  replicas: Replica[];
  /** nginx in front of every replica. */
  balancerUrl: string;
  /** The instance admin through the balancer. */
  admin: BuildMeshClient;
  adminToken: string;
  encryptionKey: string;
  timing: ControllerTiming;
}

export async function startReplicaSet(
  t: T,
  options: { count?: number; timing?: Partial<ControllerTiming>; env?: Record<string, string>; database?: TestDatabase } = {},
): Promise<ReplicaSet> {
  // A given database (e.g. on a private instance) is the caller's to drop.
  const database = options.database ?? (await createTestDatabase());
  if (!options.database) t.after(() => database.drop());
  const shared = mkdtempSync(join(tmpdir(), 'buildmesh-replicas-'));
  t.after(() => rmSync(shared, { recursive: true, force: true }));
  const adminToken = `admin-${randomBytes(12).toString('hex')}-replicas`;
  const encryptionKey = randomBytes(32).toString('base64');
  const timing = { ...FAST_TIMING, ...options.timing };

  const replicas: Replica[] = [];
  // Ids unique across sets: pg_stat_activity and pg_locks are cluster-wide, and other test files' replicas share the cluster.
  const setTag = randomBytes(3).toString('hex');
  for (let i = 0; i < (options.count ?? 2); i++) {
    const id = `replica-${String.fromCharCode(97 + i)}-${setTag}`;
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const admin = new BuildMeshClient({ url, token: adminToken, timeoutMs: 10_000 });
    const env = {
      BUILDMESH_DATABASE_URL: database.url,
      BUILDMESH_ENCRYPTION_KEY: encryptionKey,
      BUILDMESH_REPLICA_ID: id,
      // One blob directory for all replicas (on one host; across hosts it is shared storage).
      BUILDMESH_DATA_DIR: shared,
      BUILDMESH_PORT: String(port),
      BUILDMESH_HOST: '127.0.0.1',
      BUILDMESH_ADMIN_TOKEN: adminToken,
      BUILDMESH_TRUSTED_PROXIES: '127.0.0.1',
      BUILDMESH_HEARTBEAT_INTERVAL_MS: String(timing.heartbeatIntervalMs),
      BUILDMESH_LEASE_TTL_MS: String(timing.leaseTtlMs),
      BUILDMESH_SWEEP_INTERVAL_MS: String(timing.sweepIntervalMs),
      BUILDMESH_CLAIM_WAIT_MS: String(timing.claimWaitMs),
      BUILDMESH_LOG_LEVEL: 'info',
      ...options.env,
    };
    const launch = async (): Promise<TestProcess> => {
      const proc = spawnNode('packages/controller/src/main.ts', env, t);
      await waitFor(
        async () => {
          if (proc.child.exitCode !== null) throw new Error(`replica ${id} exited: ${proc.output()}`);
          return (await admin.health()).status === 'ok';
        },
        { timeoutMs: 30_000, what: `replica ${id} to answer /health` },
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n--- ${id} output ---\n${proc.output()}`);
      });
      return proc;
    };
    const replica: Replica = {
      id,
      url,
      port,
      admin,
      process: await launch(),
      alive: () => replica.process.child.exitCode === null && replica.process.child.signalCode === null,
      async crash() {
        replica.process.kill('SIGKILL');
        await replica.process.exited;
      },
      async restart() {
        replica.process = await launch();
      },
    };
    replicas.push(replica);
  }

  const balancerUrl = await startNginx(t, replicas.map((r) => r.port));
  return { database, replicas, balancerUrl, admin: new BuildMeshClient({ url: balancerUrl, token: adminToken, timeoutMs: 10_000 }), adminToken, encryptionKey, timing };
}

/**
 * Runs nginx with the documented config on a free loopback port: the lines marked
 * `# replica` become one line per given port, `# listen` the loopback port; the
 * rest is used as written. Returns the balancer's URL.
 */
export async function startNginx(t: T, ports: number[]): Promise<string> {
  if (!NGINX) throw new Error('nginx is not installed (apt-get install -y nginx)');
  const prefix = mkdtempSync(join(tmpdir(), 'buildmesh-nginx-'));
  mkdirSync(join(prefix, 'logs'));
  const port = await freePort();
  const documented = readFileSync(join(REPO_ROOT, 'docs/deploy/nginx-buildmesh.conf'), 'utf8');
  const lines = documented.split('\n');
  const firstReplica = lines.findIndex((l) => l.includes('# replica'));
  const site = lines
    .filter((l) => !l.includes('# replica'))
    .map((l) => (l.includes('# listen') ? `    listen 127.0.0.1:${port};` : l));
  site.splice(firstReplica, 0, ...ports.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=5s;`));
  writeFileSync(join(prefix, 'buildmesh.conf'), site.join('\n'));
  writeFileSync(
    join(prefix, 'nginx.conf'),
    [
      'daemon off;',
      'worker_processes 1;',
      `pid ${join(prefix, 'nginx.pid')};`,
      `error_log ${join(prefix, 'logs/error.log')} warn;`,
      'events { worker_connections 2048; }',
      'http {',
      `  access_log off;`,
      `  client_body_temp_path ${join(prefix, 'body')};`,
      `  proxy_temp_path ${join(prefix, 'proxy')};`,
      `  fastcgi_temp_path ${join(prefix, 'fastcgi')};`,
      `  uwsgi_temp_path ${join(prefix, 'uwsgi')};`,
      `  scgi_temp_path ${join(prefix, 'scgi')};`,
      `  include ${join(prefix, 'buildmesh.conf')};`,
      '}',
      '',
    ].join('\n'),
  );
  const check = spawnSync(NGINX, ['-t', '-p', prefix, '-c', join(prefix, 'nginx.conf')], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`nginx -t refused the config: ${check.stderr}`);
  const proc = spawnProcess(NGINX, ['-p', prefix, '-c', join(prefix, 'nginx.conf')], t);
  t.after(() => rmSync(prefix, { recursive: true, force: true }));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`nginx exited: ${proc.output()}`);
      return (await fetch(`${url}/health`)).ok;
    },
    { timeoutMs: 10_000, what: 'nginx to proxy /health' },
  );
  return url;
}

function spawnProcess(command: string, args: string[], t: T): { child: ChildProcess; output(): string } {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit');
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM'); // nginx's fast stop; its workers follow the master
      await exited;
    }
  });
  return { child, output: () => output };
}
