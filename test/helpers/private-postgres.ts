/**
 * A private PostgreSQL 15 instance for one test: initdb into a temp dir, started with pg_ctl on a
 * free loopback port (trust auth, loopback only), stopped and removed when the test ends. A test
 * that restarts or stops its database uses this instead of the shared cluster, so the other tests
 * running at the same time never see the outage. Under root the server runs as `postgres`
 * (PostgreSQL refuses to run as root).
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './processes.js';
import { skipUnless } from './system-services.js';

type T = { after(fn: () => void | Promise<void>): void };

const BIN = process.env.BUILDMESH_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';
/** node:test `skip` for tests that need their own PostgreSQL: a reason outside CI, never under CI. */
export const privatePgSkip: string | false = skipUnless(
  existsSync(join(BIN, 'initdb')) && existsSync(join(BIN, 'pg_ctl')),
  `PostgreSQL 15 binaries not found in ${BIN} (apt-get install -y postgresql-15, or set BUILDMESH_TEST_PG_BIN)`,
);

export interface PrivatePostgres {
  /** postgres://buildmesh@127.0.0.1:<port>/buildmesh — a superuser on its own instance. */
  adminUrl: string;
  port: number;
  /**
   * Shut down — `fast` ends open sessions cleanly, `immediate` is a crash (sessions cut, crash
   * recovery on start) — then `downMs` with nothing listening, then started again.
   */
  restart(downMs: number, mode?: 'fast' | 'immediate'): Promise<void>;
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  /** The server's own log, for a post-mortem. */
  log(): string;
}

function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

export async function startPrivatePostgres(t: T): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'buildmesh-private-pg-'));
  const user = runAs();
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const port = await freePort();
  let running = false;
  // Asynchronous: the test's own clients keep running while the server starts and stops.
  const run = (cmd: string, args: string[]): Promise<void> =>
    new Promise((resolve, reject) => {
      execFile(join(BIN, cmd), args, { encoding: 'utf8', cwd: dir, ...(user ?? {}), timeout: 60_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}${stdout}`));
        else resolve();
      });
    });
  t.after(() => {
    if (running) spawnSync(join(BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], { ...(user ?? {}), timeout: 60_000 });
    rmSync(dir, { recursive: true, force: true });
  });
  await run('initdb', ['-D', data, '-U', 'buildmesh', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  // fsync off: the instance dies with the test, and no fault here crashes the host.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100 -c shared_buffers=32MB`;
  const start = async (): Promise<void> => {
    running = true;
    await run('pg_ctl', ['-D', data, '-o', options, '-l', logFile, '-w', '-t', '60', 'start']);
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast'): Promise<void> => {
    await run('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
    running = false;
  };
  await start();
  await run('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'buildmesh', 'buildmesh']);
  return {
    adminUrl: `postgres://buildmesh@127.0.0.1:${port}/buildmesh`,
    port,
    stop,
    start,
    async restart(downMs: number, mode: 'fast' | 'immediate' = 'fast') {
      await stop(mode);
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await start();
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
  };
}
