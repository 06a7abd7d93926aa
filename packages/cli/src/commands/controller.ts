/**
 * `buildmesh controller`: runs the controller with zero configuration (SQLite + local blobs in
 * --data-dir). Prints its URL and, on the very first start, the generated instance admin token —
 * once: only its hash is stored.
 */
import type { ControllerOptions } from '@buildmesh/controller';
import { loadController, loaded } from '../server-modules.js';
import { action, command, intOption } from '../command-kit.js';
import { CliError } from '../output.js';
import { describeListenError, onShutdownSignals } from '../lifecycle.js';
import { cli } from '../invocation.js';

interface ControllerCliOptions {
  json?: boolean;
  port?: number;
  host?: string;
  dataDir?: string;
  databaseUrl?: string;
}

/** The BUILDMESH_* variables of the controller, for --help (from the controller's own table). */
export function controllerSettingsHelp(): string {
  const settings = loaded().controller?.CONTROLLER_SETTINGS;
  if (!settings) return '  (see the README configuration reference)';
  const width = Math.max(...settings.map((s) => s.env.length));
  return settings.map((s) => `  ${s.env.padEnd(width)}  ${s.description}${s.default ? ` (default ${s.default})` : ''}`).join('\n');
}

/** Options given as flags only; the controller applies the environment and defaults to the rest. */
export function controllerFlags(opts: { port?: number; host?: string; dataDir?: string; databaseUrl?: string }): Partial<ControllerOptions> {
  return {
    ...(opts.databaseUrl !== undefined ? { databaseUrl: opts.databaseUrl } : {}),
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.host !== undefined ? { host: opts.host } : {}),
    ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}),
  };
}

/** Starts the controller; turns configuration and listen errors into CLI errors. */
export async function startControllerForCli(options: Partial<ControllerOptions>) {
  const { startController } = await loadController();
  try {
    return await startController(options);
  } catch (err) {
    if ((err as Error).name === 'ConfigError') throw new CliError('CONFIG_INVALID', (err as Error).message, 'fix the flag or environment variable named');
    throw describeListenError(err, options.port);
  }
}

export const controllerCommand = action<ControllerCliOptions>(
  command('controller', 'Run the BuildMesh controller (API, queue, blob store) in this process', [
    'buildmesh controller',
    'buildmesh controller --host 0.0.0.0 --port 4650 --data-dir /var/lib/buildmesh',
    'BUILDMESH_ADMIN_TOKEN=$(openssl rand -hex 24) buildmesh controller',
  ])
    .option('--port <port>', 'TCP port (env BUILDMESH_PORT, default 4650)', intOption(0, 65535))
    .option('--host <host>', 'address to listen on; 0.0.0.0 to accept other machines (env BUILDMESH_HOST, default 127.0.0.1)')
    .option('--data-dir <dir>', 'SQLite database, blobs and key file (env BUILDMESH_DATA_DIR, default ./.buildmesh)')
    .option('--database-url <url>', 'postgres://… : run as one replica on PostgreSQL (env BUILDMESH_DATABASE_URL; prefer the variable, argv shows in ps)')
    .addHelpText('after', () => `\nEnvironment (flags win over variables):\n${controllerSettingsHelp()}\n\nJSON (--json): one line once listening: { url, dataDir, adminToken: string | null }\n`),
  async ({ out, opts }) => {
    const controller = await startControllerForCli(controllerFlags(opts));
    const { url } = controller;
    if (out.json) {
      out.printJsonLine({ url, dataDir: controller.options.dataDir, adminToken: controller.generatedAdminToken });
    } else {
      out.info(out.c.green(`✔ BuildMesh controller listening on ${url}`) + out.c.dim(`  (data in ${controller.options.dataDir})`));
      if (controller.generatedAdminToken) {
        out.info(out.c.yellow('\nInstance admin token — shown only this once (only its hash is stored):'));
        out.info(`\n  ${controller.generatedAdminToken}\n`);
        out.info(`Log in with: ${cli()} login --url ${url}   (paste the token at the prompt)`);
        out.info(`Other machines install the CLI from here: npm install -g ${url}/cli/buildmesh.tgz`);
      } else if (controller.options.adminToken) {
        out.info('Instance admin token: the one in BUILDMESH_ADMIN_TOKEN.');
      } else {
        out.info(out.c.dim('Instance admin token: printed on the first start. Lost it? Restart with BUILDMESH_ADMIN_TOKEN set to a new secret (24+ characters).'));
      }
    }
    await new Promise<void>((resolve) => {
      onShutdownSignals(async (signal) => {
        process.stderr.write(`${signal}: shutting down…\n`);
        await controller.close();
        resolve();
      });
    });
  },
);
