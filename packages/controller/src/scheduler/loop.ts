/**
 * A periodic task that never overlaps itself: the next run is scheduled when the
 * previous one has finished, and stop() waits for a run in progress.
 */
import type { FastifyBaseLogger } from 'fastify';

export interface Loop {
  stop(): Promise<void>;
  /** Runs the task now (after any run in progress) and resolves when it is done. */
  runNow(): Promise<void>;
}

export function startLoop(name: string, intervalMs: number, task: () => Promise<void>, log: FastifyBaseLogger, firstDelayMs = intervalMs): Loop {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;

  const tick = (): Promise<void> => {
    running = running.then(async () => {
      if (stopped) return;
      try {
        await task();
      } catch (err) {
        log.error({ err }, `${name} failed`);
      }
    });
    return running;
  };
  const schedule = (delay: number): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      void tick().then(() => schedule(intervalMs));
    }, delay);
    timer.unref();
  };
  schedule(firstDelayMs);

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
    runNow: tick,
  };
}
