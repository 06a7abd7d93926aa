/**
 * How the worker waits and decides whether to try again. Every loop that talks
 * to the controller (claim, heartbeat, logs, artifacts, finish) uses these, so
 * "the controller is away" is handled the same way everywhere: back off with
 * jitter (many workers must not reconnect in lock-step), keep the work, resume.
 */
import { ApiError, NetworkError } from '@buildmesh/protocol';

export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
}

/** "Equal jitter": half the exponential ceiling fixed, half random; never 0, never above maxMs. */
export function backoffDelay(failures: number, { baseMs = 250, maxMs = 10_000 }: BackoffOptions = {}): number {
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

/** The controller could not be reached, or answered "try again": the request may be repeated as is. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof NetworkError) return true;
  if (err instanceof ApiError) return err.status >= 500 || err.code === 'BODY_TIMEOUT';
  // A response body that broke off mid-way surfaces as a plain TypeError from fetch.
  return err instanceof TypeError && /terminated|fetch failed|socket/i.test(err.message);
}

/**
 * The attempt no longer belongs to this worker: the lease lapsed and another worker
 * may be running it (409 LEASE_LOST), or the attempt is gone (404), or this worker's
 * credential was revoked (401). Nothing this attempt sends will be accepted again.
 */
export function isLeaseLost(err: unknown): boolean {
  return err instanceof ApiError && (err.code === 'LEASE_LOST' || err.code === 'NOT_FOUND' || err.code === 'UNAUTHENTICATED');
}

/** Short description for the worker's own log (never includes request bodies). */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}
