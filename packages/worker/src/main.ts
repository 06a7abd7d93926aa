/**
 * Process entry of a worker: `node --import tsx packages/worker/src/main.ts`.
 * Options come from BUILDMESH_* variables (config.ts). The first SIGTERM or
 * SIGINT drains (no new builds; running ones finish and report), a second one
 * stops (running builds are handed back to the controller) and the process exits.
 */
import { WorkerConfigError } from './config.js';
import { startWorker, type RunningWorker } from './index.js';

async function main(): Promise<void> {
  const state: { worker?: RunningWorker; signals: number } = { signals: 0 };
  const onSignal = (signal: NodeJS.Signals): void => {
    state.signals++;
    // Still starting (detecting, enrolling): nothing runs yet, just leave.
    if (!state.worker) process.exit(signal === 'SIGINT' ? 130 : 143);
    if (state.signals === 1) void state.worker.drain();
    else void state.worker.stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  state.worker = await startWorker();
  await state.worker.done;
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    console.error(err instanceof WorkerConfigError ? `buildmesh worker: ${message}` : `buildmesh worker failed: ${message}`);
    process.exit(1);
  },
);
