/**
 * How the worker retries, on top of the one shared policy (@buildmesh/protocol's retry.ts:
 * what is transient, capped backoff with jitter). Every call that belongs to a live attempt
 * (source, secrets, logs, heartbeats, artifacts, finish) retries until the attempt's lease is
 * known to be lost — a 409 LEASE_LOST, or the lease's expiry passing on this worker's own clock
 * with no successful heartbeat (AttemptLease) — never for a fixed count.
 */
import { ApiError, isTransient, retryTransient, type RetryOptions } from '@buildmesh/protocol';

export { backoffDelay, sleep, type BackoffOptions } from '@buildmesh/protocol';

/** The controller could not be reached, or answered "try again": the request may be repeated as is. */
export const isRetryable = isTransient;

/** The lease's expiry passed on the worker's clock without a successful heartbeat. */
export class LeaseExpiredError extends Error {
  constructor(ttlMs: number) {
    super(`no heartbeat was accepted within the lease (${ttlMs} ms): another worker may own the build now`);
    this.name = 'LeaseExpiredError';
  }
}

/**
 * The attempt no longer belongs to this worker: the lease lapsed and another worker
 * may be running it (409 LEASE_LOST, or LeaseExpiredError), or the attempt is gone
 * (404), or this worker's credential was revoked (401). Nothing this attempt sends
 * will be accepted again.
 */
export function isLeaseLost(err: unknown): boolean {
  if (err instanceof LeaseExpiredError) return true;
  return err instanceof ApiError && (err.code === 'LEASE_LOST' || err.code === 'NOT_FOUND' || err.code === 'UNAUTHENTICATED');
}

/**
 * One attempt's lease as this worker knows it. `renewed(sentAt)` after each accepted
 * heartbeat (the lease runs from when the heartbeat was sent, never from when its reply
 * arrived); `lose(err)` when the controller says LEASE_LOST. When `ttlMs` passes after the
 * last renewal, the lease is lost by itself. `lost` aborts, once, with the reason.
 */
export class AttemptLease {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private expiresAt: number;

  constructor(
    private ttlMs: number,
    startedAt = Date.now(),
  ) {
    this.expiresAt = startedAt + ttlMs;
    this.arm();
  }

  get lost(): AbortSignal {
    return this.controller.signal;
  }

  /** Milliseconds left on the worker's clock (negative once expired). */
  get remainingMs(): number {
    return this.expiresAt - Date.now();
  }

  renewed(sentAt: number, ttlMs = this.ttlMs): void {
    if (this.lost.aborted) return;
    this.ttlMs = ttlMs > 0 ? ttlMs : this.ttlMs;
    this.expiresAt = Math.max(this.expiresAt, sentAt + this.ttlMs);
    this.arm();
  }

  lose(err: unknown): void {
    clearTimeout(this.timer);
    if (!this.lost.aborted) this.controller.abort(err);
  }

  /** The attempt ended: no timer is left behind. */
  dispose(): void {
    clearTimeout(this.timer);
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (Date.now() >= this.expiresAt) this.lose(new LeaseExpiredError(this.ttlMs));
      else this.arm();
    }, Math.max(0, this.expiresAt - Date.now()));
    this.timer.unref();
  }
}

/**
 * Runs one call of a live attempt: transient failures are retried with the shared backoff
 * until it succeeds, or `signal` aborts (the attempt stops, its lease is lost). A lease-lost
 * answer is thrown at once, as is anything that is not transient.
 */
export function retryForAttempt<T>(fn: () => Promise<T>, signal: AbortSignal, options: Pick<RetryOptions, 'onRetry' | 'onRecovered' | 'retryable'> = {}): Promise<T> {
  const retryable = options.retryable ?? isTransient;
  return retryTransient(fn, { ...options, signal, retryable: (err) => !isLeaseLost(err) && retryable(err) });
}

/** Short description for the worker's own log (never includes request bodies). */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}
