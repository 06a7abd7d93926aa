/**
 * How the CLI rides through a controller restart: every call of submit, follow and download goes
 * through the shared retry policy (@buildmesh/protocol's retry.ts: transient = unreachable, 5xx,
 * a cut-off body; capped backoff), for as long as it takes, and says so on stderr:
 * "connection lost — retrying (n)" while the controller is away, "connection restored" after.
 */
import { retryTransient, type RetryOptions } from '@buildmesh/protocol';

export type RetryNotice = Pick<RetryOptions, 'onRetry' | 'onRecovered'>;

/** The notice on `stream` (stderr: stdout stays for results and JSON). */
export function connectionNotice(stream: NodeJS.WritableStream = process.stderr): RetryNotice {
  return {
    onRetry: (_err, failures) => {
      stream.write(`connection lost — retrying (${failures})\n`);
    },
    onRecovered: () => {
      stream.write('connection restored\n');
    },
  };
}

/** Runs `fn` until it succeeds, retrying transient failures with the notice, until `signal` aborts. */
export function retryWithNotice<T>(fn: () => Promise<T>, options: { signal?: AbortSignal; notice?: RetryNotice } = {}): Promise<T> {
  return retryTransient(fn, { signal: options.signal, ...(options.notice ?? connectionNotice()) });
}
