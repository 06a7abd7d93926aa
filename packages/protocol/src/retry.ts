/**
 * The one retry policy of every BuildMesh client, worker and CLI alike: what is transient (the
 * controller unreachable, restarting, frozen or failing internally), how long to wait between
 * tries (exponential backoff with "equal jitter", capped), and a loop that tries until the call
 * succeeds, fails for good, or the caller's signal says the result is no longer wanted (a
 * worker: its attempt's lease is lost; the CLI: the user pressed Ctrl-C). Never a fixed count:
 * a controller restart takes as long as it takes.
 */
import { ApiError } from './errors.js';

/** Thrown by the client when the controller cannot be reached at all (as opposed to answering with an error). */
export class NetworkError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'NetworkError';
  }
}

/** A redirect a download does not follow (not http(s), or past the hop limit): the same answer again, so never retried. */
export class RedirectRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedirectRefused';
  }
}

export interface BackoffOptions {
  /** The first wait (default 250 ms); each further failure doubles it… */
  baseMs?: number;
  /** …up to this ceiling (default 5 s). */
  maxMs?: number;
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = { baseMs: 250, maxMs: 5_000 };

/** "Equal jitter": half the exponential ceiling fixed, half random (many clients must not retry in lock-step). */
export function backoffDelay(failures: number, { baseMs = DEFAULT_BACKOFF.baseMs, maxMs = DEFAULT_BACKOFF.maxMs }: BackoffOptions = {}): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(failures - 1, 0), 20));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** Resolves after `ms`, or as soon as `signal` aborts (never rejects: callers check the signal). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The request may be repeated as it is: the controller could not be reached, broke the
 * connection off mid-body, answered 5xx (500 INTERNAL, 503 SHUTTING_DOWN or DATABASE_UNAVAILABLE) or cut
 * a stalled body (408).
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof NetworkError) return true;
  if (err instanceof ApiError) return err.status >= 500 || err.code === 'BODY_TIMEOUT';
  // A response body that broke off mid-way surfaces from fetch as a plain TypeError ("terminated").
  if (err instanceof TypeError && /terminated|fetch failed|socket|other side closed/i.test(err.message)) return true;
  const code = (err as { code?: unknown } | null)?.code;
  // undici's own (a streamed download through its request): a socket that broke, or went quiet past the idle timeout.
  return typeof code === 'string' && ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT'].includes(code);
}

export interface RetryOptions extends BackoffOptions {
  /** Stop retrying when this aborts: the wait ends at once and its reason (else the last error) is thrown. */
  signal?: AbortSignal;
  /** Called before each wait, with the error and the number of failures so far (1, 2, …). */
  onRetry?(err: unknown, failures: number, delayMs: number): void;
  /** Called once when a call succeeds after at least one failure. */
  onRecovered?(failures: number): void;
  /** What may be retried (default isTransient); anything else is thrown at once. */
  retryable?(err: unknown): boolean;
}

/** Runs `fn` until it succeeds, retrying what `retryable` allows with capped backoff, until `signal` aborts. */
export async function retryTransient<T>(fn: (failures: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { signal, retryable = isTransient } = options;
  for (let failures = 0; ; ) {
    try {
      const value = await fn(failures);
      if (failures > 0) options.onRecovered?.(failures);
      return value;
    } catch (err) {
      if (signal?.aborted) throw abortReason(signal, err);
      if (!retryable(err)) throw err;
      failures++;
      const delayMs = backoffDelay(failures, options);
      options.onRetry?.(err, failures, delayMs);
      await sleep(delayMs, signal);
      if (signal?.aborted) throw abortReason(signal, err);
    }
  }
}

function abortReason(signal: AbortSignal, last: unknown): unknown {
  return signal.reason instanceof Error && signal.reason.name !== 'AbortError' ? signal.reason : last;
}
