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
  return (controllerModule ??= await import('@buildmesh/controller'));
}

export async function loadWorker(): Promise<typeof WorkerModule> {
  return (workerModule ??= await import('@buildmesh/worker'));
}

/** The modules if already loaded (for synchronous help text). */
export const loaded = () => ({ controller: controllerModule, worker: workerModule });

export const SERVER_COMMANDS = ['controller', 'worker', 'up'];
