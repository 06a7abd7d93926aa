/**
 * Signals for the long-running commands (controller, worker, up): the first SIGINT/SIGTERM
 * shuts down gracefully, a second one forces the matter.
 */
import { CliError } from './output.js';

export function onShutdownSignals(first: (signal: NodeJS.Signals) => void | Promise<void>, second?: (signal: NodeJS.Signals) => void): () => void {
  let count = 0;
  const handler = (signal: NodeJS.Signals) => {
    count += 1;
    if (count === 1) {
      Promise.resolve(first(signal)).catch((err: unknown) => {
        process.stderr.write(`error during shutdown: ${(err as Error).message}\n`);
        process.exit(1);
      });
    } else if (second) {
      second(signal);
    } else {
      process.stderr.write('second signal: exiting now\n');
      process.exit(130);
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/** Turns "address in use" into an error that says what to do. */
export function describeListenError(err: unknown, port: number | undefined): unknown {
  if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    return new CliError('PORT_IN_USE', `port ${port ?? 4650} is already in use`, 'is BuildMesh already running? Stop it, or pick another port with --port (or BUILDMESH_PORT)');
  }
  return err;
}
