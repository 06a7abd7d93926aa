/**
 * `buildmesh up`: the controller on the embedded default plus one local worker, in this process —
 * the quick start. The worker enrolls once (with an enrollment token made through the API with the
 * admin token) and keeps its credential in the data dir, so later starts need no token at all.
 *
 * Tokens: on the first start the generated admin token is printed once and saved as this CLI's
 * login (mode 0600) when no other login would be replaced, so `buildmesh build` just works. On later
 * starts the saved login is pointed to; without one, `up` says how to get a token again.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { Option } from 'commander';
import type { WorkerOptions } from '@buildmesh/worker';
import { loadWorker } from '../server-modules.js';
import { ApiError, type BuildMeshClient } from '@buildmesh/protocol';
import { action, command, intOption } from '../command-kit.js';
import { configPath, deleteConfig, makeClient, normalizeUrl, readConfig, savedLoginFor, useLogin, writeConfig } from '../config.js';
import { cli } from '../invocation.js';
import { onShutdownSignals } from '../lifecycle.js';
import { CliError, renderFields } from '../output.js';
import { controllerFlags, startControllerForCli } from './controller.js';

interface UpOptions {
  json?: boolean;
  port?: number;
  host?: string;
  dataDir?: string;
  sandbox?: WorkerOptions['sandbox'];
  concurrency?: number;
  logLevel: string;
  saveLogin: boolean;
}

/** How `up --json` reports itself (one line, once both are running). */
export interface UpReport {
  url: string;
  dataDir: string;
  workerId: string;
  /** bwrap: the local worker confines builds; none: it does not, so it serves only the admin's org. */
  executor: 'bwrap' | 'none';
  /** The admin token when this start generated it (first start), else null. */
  token: string | null;
  /** Where the CLI's login for this controller is saved, or null when none is. */
  loginSaved: string | null;
  next: string;
}

export const upCommand = action<UpOptions>(
  command('up', 'Start a controller and a local worker in one process (the quick start)', [
    'buildmesh up',
    'buildmesh up --port 4700 --data-dir ~/buildmesh-data',
    'buildmesh up --sandbox none --concurrency 2',
  ])
    .option('--port <port>', 'controller port (env BUILDMESH_PORT, default 4650)', intOption(0, 65535))
    .option('--host <host>', 'controller address (env BUILDMESH_HOST, default 127.0.0.1)')
    .option('--data-dir <dir>', 'controller data and the local worker identity (env BUILDMESH_DATA_DIR, default $XDG_DATA_HOME/buildmesh/up, else ~/.local/share/buildmesh/up; ./.buildmesh when it exists)')
    .addOption(new Option('--sandbox <mode>', 'local worker executor (env BUILDMESH_SANDBOX, default auto)').choices(['auto', 'none', 'bwrap']))
    .option('--concurrency <n>', 'builds the local worker runs at once (default 1)', intOption(1, 64))
    .option('--log-level <level>', 'log level of the controller and worker', process.env.BUILDMESH_LOG_LEVEL ?? 'warn')
    .option('--no-save-login', "do not save the admin token as this CLI's login")
    .addHelpText(
      'after',
      '\nThe admin token is printed once, on the first start (BUILDMESH_ADMIN_TOKEN sets your own instead).\n' +
        "Without bubblewrap (or with --sandbox none) the local worker serves only the admin's org, never the shared pool.\n" +
        'JSON (--json): one line once running: { url, dataDir, workerId, executor, token, loginSaved, next }\n',
    ),
  async ({ out, opts }) => {
    // Listen for Ctrl-C / SIGTERM before starting anything: a signal during start-up then stops both
    // cleanly once they are up, instead of killing the process with the default action.
    const shutdown = new Promise<NodeJS.Signals>((resolve) => onShutdownSignals(resolve));
    const dataDirFlag = opts.dataDir ?? (process.env.BUILDMESH_DATA_DIR ? undefined : defaultUpDataDir());
    const controller = await startControllerForCli({ ...controllerFlags({ ...opts, dataDir: dataDirFlag }), logLevel: opts.logLevel as never });
    const url = normalizeUrl(controller.url);
    const dataDir = controller.options.dataDir;
    const adminToken = controller.generatedAdminToken ?? controller.options.adminToken;
    try {
      // The local worker lives in the data dir: a fresh data dir is a fresh controller, and a
      // fresh worker identity with it.
      const workerBase: Partial<WorkerOptions> = {
        url,
        name: `${hostname()}-local`.slice(0, 128),
        configDir: join(dataDir, 'worker'),
        // Its identity belongs to this data dir's controller on whatever port (`--port 0` picks a new one each start).
        identityKey: 'buildmesh-up',
        workDir: upWorkDir(dataDir),
        // The controller's database, blobs and encryption key share this machine: builds must not see them.
        hidePaths: [dataDir],
        logLevel: opts.logLevel,
        ...(opts.sandbox ? { sandbox: opts.sandbox } : {}),
        ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
      };
      const { resolveWorkerOptions, startWorker, WorkerConfigError, probeBwrap } = await loadWorker();
      const resolved = resolveWorkerOptions(workerBase); // bad flags fail here, before any token is made
      // Unconfined never crosses a tenant: without bubblewrap the local worker serves the admin's org only.
      // The same probe the worker runs: a real step in its work dir, as its build user.
      const sandboxed =
        resolved.sandbox !== 'none' && process.platform === 'linux' && (await probeBwrap(undefined, { workDir: resolved.workDir, buildUser: resolved.buildUser })).ok;
      let worker;
      try {
        // Later starts: the identity saved in the data dir is enough.
        worker = await startWorker(workerBase);
      } catch (err) {
        // First start (or a lost identity, or a shared identity whose sandbox is gone): enroll with a token made through the API.
        const unsandboxedShared = err instanceof ApiError && err.code === 'SANDBOX_REQUIRED';
        if (!(err instanceof WorkerConfigError) && !unsandboxedShared) throw err;
        if (unsandboxedShared) await forgetWorkerIdentity(workerBase.configDir!);
        worker = await startWorker({ ...workerBase, enrollmentToken: await createLocalEnrollmentToken(url, adminToken, sandboxed) });
      }

      const loginSaved = await saveLogin(url, controller.generatedAdminToken, controller.options.adminToken, opts.saveLogin, dataDir);
      // A command that works where it is printed (never a bare `npx buildmesh` outside the checkout).
      const next = `${cli()} build /path/to/your-expo-app --platform web`;
      if (out.json) {
        out.printJsonLine({
          url,
          dataDir,
          workerId: worker.workerId,
          executor: sandboxed ? 'bwrap' : 'none',
          token: controller.generatedAdminToken,
          loginSaved,
          next,
        } satisfies UpReport);
      } else {
        const { c } = out;
        out.info(c.green(c.bold('✔ BuildMesh is up')));
        out.info(renderFields([
          ['controller', url],
          ['data', `${dataDir}  ${c.dim('(this instance: its database, tokens and blobs; another --data-dir is another instance)')}`],
          ['worker', `${worker.workerId}  ${c.dim(`(workspaces in ${workerBase.workDir})`)}`],
        ], c));
        if (!sandboxed) {
          out.info(
            c.yellow('\nThe local worker runs builds without a sandbox (no bubblewrap), so it serves only your org, never the shared pool.') +
              `\nTo confine builds: sudo apt-get install bubblewrap, then restart \`${cli()} up\`.`,
          );
        }
        if (controller.generatedAdminToken) {
          out.info(c.yellow('\nAdmin token — shown only this once (the controller keeps only its hash):'));
          out.info(`\n  ${controller.generatedAdminToken}\n`);
        }
        if (loginSaved) {
          out.info(
            controller.generatedAdminToken
              ? `Saved as this CLI's login for ${url} (${loginSaved}): \`${cli()} build\` uses it.`
              : `This CLI now uses its saved login for ${url} (${loginSaved}; \`${cli()} whoami\`).`,
          );
        } else {
          out.info(await tokenHint(url, adminToken !== null));
        }
        out.info(`Make tokens for teammates or CI with: ${cli()} admin token create NAME --role member`);
        out.info(`Other machines install the CLI from here: npm install -g ${url}/cli/buildmesh.tgz`);
        out.info(`\nNext, from this directory in another terminal:\n  ${c.bold(next)}`);
        out.info(c.dim('\nCtrl-C stops both (running builds are handed back and resume on the next start).'));
      }

      const signal = await shutdown;
      process.stderr.write(`${signal}: stopping the worker and the controller…\n`);
      await worker.stop();
      await controller.close();
    } catch (err) {
      await controller.close().catch(() => {});
      throw err;
    }
  },
);

/**
 * A one-off enrollment token for the local worker, made with the admin token through the API: for the
 * shared pool only when the worker confines its builds (bwrap) and the token is the instance admin's.
 */
/**
 * Workspaces inside the data dir, except as root: the data dir is 0700 (it holds the key), and a
 * sandboxed step runs as the unprivileged build user, which must reach its workspace by path. As
 * root they go under the worker's own default root, one folder per data dir.
 */
function upWorkDir(dataDir: string): string {
  if (process.getuid?.() !== 0) return join(dataDir, 'worker', 'workspaces');
  return join('/var/lib/buildmesh-worker', `up-${createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 12)}`);
}

async function createLocalEnrollmentToken(url: string, adminToken: string | null, sandboxed: boolean): Promise<string> {
  let client: BuildMeshClient | null = adminToken ? makeClient(url, adminToken) : null;
  if (!client) {
    // A later start whose worker identity is gone: the saved login may be an admin of this controller.
    const saved = await savedLoginFor(url).catch(() => null);
    const envToken = process.env.BUILDMESH_TOKEN?.trim();
    const token = envToken || saved?.token;
    if (token) client = makeClient(url, token);
  }
  if (!client) {
    throw new CliError(
      'WORKER_NOT_ENROLLED',
      'the local worker has no saved identity and no admin token is at hand to enroll it',
      'set BUILDMESH_ADMIN_TOKEN (or log in with an admin token: `buildmesh login`) and run `buildmesh up` again',
    );
  }
  const me = await client.whoami();
  const created = await client.createEnrollmentToken('local-worker', me.token.instanceAdmin && sandboxed ? 'shared' : 'org');
  return created.secret;
}

/** Removes the saved local worker credential (worker-<hash>.json in its config dir) so it enrolls again. */
async function forgetWorkerIdentity(configDir: string): Promise<void> {
  const names = await readdir(configDir).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => /^worker-.*\.json$/.test(n)).map((n) => rm(join(configDir, n), { force: true })));
}

/**
 * Saves the admin token as the CLI login for this controller (and makes it current), so `buildmesh
 * build` just works. Logins are kept per controller URL: another instance's login is never touched.
 * A login the person made to this controller is kept (unless this start generated a fresh admin
 * token: then the controller is new and the old login cannot be valid) and made current; nothing is
 * saved when the environment decides (BUILDMESH_URL / BUILDMESH_TOKEN) or with --no-save-login.
 * Returns the config path when the CLI is logged in here.
 */
async function saveLogin(url: string, generatedToken: string | null, envAdminToken: string | null, allowed: boolean, dataDir: string): Promise<string | null> {
  const previousUrl = await rememberUrl(dataDir, url);
  if (!allowed || process.env.BUILDMESH_TOKEN || process.env.BUILDMESH_URL) return null;
  let saved = await savedLoginFor(url).catch(() => null);
  // The same instance on another port (`--port 0`): its saved login moves to the new URL.
  if (!saved && !generatedToken && previousUrl && previousUrl !== url) {
    const before = await savedLoginFor(previousUrl).catch(() => null);
    if (before) {
      await deleteConfig(configPath(), { url: previousUrl });
      await writeConfig({ url, token: before.token });
      saved = await savedLoginFor(url).catch(() => null);
    }
  }
  if (saved && !generatedToken) {
    await useLogin(url);
    return configPath();
  }
  const token = generatedToken ?? envAdminToken;
  if (!token) return null;
  return writeConfig({ url, token });
}

/** Records this start's URL in the data dir; returns the previous start's (undefined on the first). */
async function rememberUrl(dataDir: string, url: string): Promise<string | undefined> {
  const file = join(dataDir, 'up-url.json');
  let previous: string | undefined;
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { url?: unknown };
    if (typeof parsed.url === 'string') previous = parsed.url;
  } catch {
    // first start, or an unreadable file: nothing to carry over
  }
  await writeFile(file, `${JSON.stringify({ url })}\n`, { mode: 0o600 }).catch(() => {});
  return previous;
}

/** Where `up` keeps its instance when no --data-dir is given: ./.buildmesh if it exists (earlier versions), else one per user. */
export function defaultUpDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (existsSync(resolve('.buildmesh'))) return resolve('.buildmesh');
  const base = env.XDG_DATA_HOME && env.XDG_DATA_HOME.startsWith('/') ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share');
  return join(base, 'buildmesh', 'up');
}

/** On a start without a saved login: where a token comes from. */
async function tokenHint(url: string, adminFromEnv: boolean): Promise<string> {
  const saved = await readConfig().catch(() => null);
  if (adminFromEnv) return `Token: the admin token in BUILDMESH_ADMIN_TOKEN (log in with: buildmesh login --url ${url}).`;
  if (saved && normalizeUrl(saved.url) !== url) {
    return `This CLI stays logged in to ${saved.url}. To use this controller: ${cli()} login --url ${url}`;
  }
  return (
    'Token: the admin token was printed on the first start. Lost it? Restart with a new one:\n' +
    `  BUILDMESH_ADMIN_TOKEN=$(openssl rand -hex 24) ${cli()} up`
  );
}
