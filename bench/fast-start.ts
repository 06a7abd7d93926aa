/**
 * Start-up figures (issue "fast start"), through the installed entry point `bin/buildmesh.js`:
 *  - cli_version_ms / node_bare_ms / cli_start_overhead: `buildmesh --version` against `node -e 0`,
 *    interleaved, medians of 10 runs each;
 *  - cli_status_ms: `buildmesh status ID` against a running controller, median of 10;
 *  - controller_ready_ms: `buildmesh controller` spawned on a data dir holding 10,000 builds →
 *    `/health` answers 200 (polled every 2 ms), median of 5 starts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { openSqliteStore } from '../packages/controller/src/store/sqlite.js';
import { DATABASE_FILE } from '../packages/controller/src/backup.js';
import { freePort } from '../test/helpers/processes.js';
import { median } from './support/measure.js';
import { startController } from './support/processes.js';
import { benchSpec, streamOf, tinySource } from './support/sources.js';

const BIN = join(import.meta.dirname, '..', 'packages', 'cli', 'bin', 'buildmesh.js');

function timeRun(args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${String(result.stderr)}`);
  return ms;
}

export async function benchFastStart(): Promise<Record<string, number>> {
  const version: number[] = [];
  const bare: number[] = [];
  timeRun([BIN, '--version']); // page cache
  for (let i = 0; i < 10; i++) {
    bare.push(timeRun(['-e', '0']));
    version.push(timeRun([BIN, '--version']));
  }

  const controller = await startController();
  let status: number[] = [];
  try {
    const build = await controller.admin.createBuild(benchSpec(), streamOf(await tinySource()));
    const env = { ...process.env, BUILDMESH_URL: controller.url, BUILDMESH_TOKEN: controller.adminToken, NO_COLOR: '1' };
    status = Array.from({ length: 10 }, () => timeRun([BIN, 'status', build.id, '--json'], env));
  } finally {
    await controller.stop();
  }

  const ready = await controllerReadyMs(10_000, 5);
  const cliVersion = median(version);
  const nodeBare = median(bare);
  return {
    cli_version_ms: cliVersion,
    node_bare_ms: nodeBare,
    cli_start_overhead: cliVersion / nodeBare,
    cli_status_ms: median(status),
    controller_ready_ms: median(ready),
  };
}

/** Seeds a data dir with `builds` builds through the store, then times `starts` cold starts of the controller on it. */
async function controllerReadyMs(builds: number, starts: number): Promise<number[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'buildmesh-bench-start-'));
  try {
    // A first start creates the schema, the key and the default org; then the builds go straight into the file.
    await startAndWait(dataDir).then(({ stop }) => stop());
    const store = await openSqliteStore(join(dataDir, DATABASE_FILE));
    const org = (await store.getOrgByName('default'))!;
    const project = await store.ensureProject(org.id, 'prj_benchfaststart0000000000', 'bench');
    const source = await tinySource();
    for (let i = 0; i < builds; i++) {
      const id = `bld_${String(i).padStart(26, '0')}`;
      await store.createBuild({ id, orgId: org.id, projectId: project.id, spec: benchSpec(), source: { sha256: createHash('sha256').update(source).digest('hex'), size: source.length }, credentialsSealed: null, retryOf: null });
    }
    await store.close();
    const samples: number[] = [];
    for (let i = 0; i < starts; i++) {
      const { ms, stop } = await startAndWait(dataDir);
      samples.push(ms);
      await stop();
    }
    return samples;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function startAndWait(dataDir: string): Promise<{ ms: number; stop: () => Promise<void> }> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, 'controller', '--data-dir', dataDir, '--port', String(port)], {
    env: { ...process.env, BUILDMESH_ADMIN_TOKEN: 'bench-admin-token-0123456789abcdef', BUILDMESH_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (;;) {
    if (child.exitCode !== null) throw new Error(`controller exited ${child.exitCode}: ${stderr}`);
    if (await healthOk(port)) break;
    if (performance.now() - started > 30_000) throw new Error(`controller not ready after 30 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 2));
  }
  const ms = performance.now() - started;
  return {
    ms,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function healthOk(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/health', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
