/**
 * The controller and worker packages are loaded only by the commands that run them (controller,
 * worker, up): importing them costs most of a second, which every `buildmesh status` would pay.
 * main.ts preloads them when one of those commands is named, so their --help can show the
 * option tables the packages own.
 */
import type * as ControllerModule from '@buildmesh/controller';
import type * as WorkerModule from '@buildmesh/worker';

let controllerModule: typeof ControllerModule | undefined;
let workerModule: typeof WorkerModule | undefined;

export async function loadController(): Promise<typeof ControllerModule> {
  try {
    return (controllerModule ??= await import('@buildmesh/controller'));
  } catch (err) {
    // The npm package served by a controller leaves the server's native modules out (optional peers).
    const missing = /Cannot find (?:package|module) '((?:@[^/']+\/)?[^/']+)/.exec((err as Error).message)?.[1];
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND' || !missing) throw err;
    // Imported here: main.ts loads this module for every command, and output.js pulls in the protocol.
    const { CliError } = await import('./output.js');
    throw new CliError('SERVER_MODULE_MISSING', `running a controller needs the package ${missing}, which is not installed`, `install it beside the CLI: npm install -g ${missing} (or run the controller from a checkout of BuildMesh)`);
  }
}

export async function loadWorker(): Promise<typeof WorkerModule> {
  return (workerModule ??= await import('@buildmesh/worker'));
}

/** The modules if already loaded (for synchronous help text). */
export const loaded = () => ({ controller: controllerModule, worker: workerModule });

export const SERVER_COMMANDS = ['controller', 'worker', 'up'];
