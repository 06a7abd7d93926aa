/**
 * Ships an attempt's log lines to the controller in numbered batches.
 *
 *  - Lines are appended to an array (no per-line work beyond the push); a batch is
 *    cut when ~200 KB are waiting, or `lingerMs` after the oldest waiting line, so a
 *    quiet build's line is visible within tens of milliseconds. When lines pile up
 *    faster than the controller takes them, batches grow to ~1 MB: each request has
 *    a fixed cost (HTTP, a store transaction), so fewer, larger batches keep a chatty
 *    build's log flowing at well over 100,000 lines per second.
 *  - One request in flight. Lines arriving meanwhile wait for the next batch.
 *  - Batches are numbered 1, 2, 3… A cut batch is frozen: a failed send is retried
 *    with the same seq and the same lines (the controller drops a duplicate seq),
 *    with the shared backoff (retry.ts), until the lease is lost (the attempt then
 *    closes the shipper). Nothing is lost or doubled when the controller restarts.
 *  - Text must be masked before `push` (the runner's BuildLog does it).
 */
import { ApiError, type LogBatch, type LogLine } from '@buildmesh/protocol';
import { backoffDelay, isLeaseLost } from '../retry.js';

export const DEFAULT_BATCH_BYTES = 200 * 1024;
/** Batch size while a backlog is being worked off (still far below the protocol's 4 MB ceiling). */
export const BACKLOG_BATCH_BYTES = 1024 * 1024;
/** The protocol's ceiling on lines per batch. */
export const MAX_BATCH_LINES = 20_000;
export const DEFAULT_LINGER_MS = 20;
/** Above this, while the controller is away, new lines are counted and dropped (memory is finite). */
export const DEFAULT_MAX_BUFFERED_BYTES = 256 * 1024 * 1024;
/** JSON framing per line ({"t":…,"stream":"stdout","phase":"…","text":""}), for the size estimate. */
const LINE_OVERHEAD_BYTES = 64;

export function estimateLineBytes(line: LogLine): number {
  return line.text.length + (line.phase?.length ?? 0) + LINE_OVERHEAD_BYTES;
}

/**
 * The pure part: lines waiting to be batched, and the numbering of batches.
 * Batches never exceed `maxBytes` (estimated) or `maxLines`, except that a
 * single line larger than `maxBytes` travels alone.
 */
export class BatchBuffer {
  private lines: LogLine[] = [];
  private head = 0;
  private bytes = 0;
  private nextSeq = 1;
  /** Date.now() when the oldest waiting line arrived (0 when none wait). */
  oldestAt = 0;

  constructor(
    private readonly maxBytes = DEFAULT_BATCH_BYTES,
    private readonly maxLines = MAX_BATCH_LINES,
  ) {}

  push(line: LogLine, bytes = estimateLineBytes(line)): void {
    if (this.lines.length === this.head) this.oldestAt = Date.now();
    this.lines.push(line);
    this.bytes += bytes;
  }

  get pendingLines(): number {
    return this.lines.length - this.head;
  }

  get pendingBytes(): number {
    return this.bytes;
  }

  /** Is a full batch waiting? */
  get full(): boolean {
    return this.bytes >= this.maxBytes || this.pendingLines >= this.maxLines;
  }

  /** The next batch (seq assigned now, for good), or undefined when nothing waits. */
  cut(maxBytes = this.maxBytes): LogBatch | undefined {
    const available = this.lines.length - this.head;
    if (available === 0) return undefined;
    let end = this.head;
    let size = 0;
    const limit = Math.min(this.lines.length, this.head + this.maxLines);
    while (end < limit) {
      const lineBytes = estimateLineBytes(this.lines[end]!);
      if (end > this.head && size + lineBytes > maxBytes) break;
      size += lineBytes;
      end++;
    }
    const batch: LogBatch = { seq: this.nextSeq++, lines: this.lines.slice(this.head, end) };
    this.bytes -= size;
    this.head = end;
    // Compact once the consumed prefix dominates, so the array does not grow without bound.
    if (this.head === this.lines.length) {
      this.lines = [];
      this.head = 0;
      this.oldestAt = 0;
      this.bytes = 0;
    } else {
      if (this.head > 4096 && this.head * 2 > this.lines.length) {
        this.lines = this.lines.slice(this.head);
        this.head = 0;
      }
      this.oldestAt = Date.now();
    }
    return batch;
  }

  /** Puts lines back in front of everything waiting (the tail of a batch that had to be split). */
  unshift(lines: LogLine[]): void {
    if (lines.length === 0) return;
    this.lines.splice(this.head, 0, ...lines);
    for (const line of lines) this.bytes += estimateLineBytes(line);
    this.oldestAt = Date.now();
  }

  /** Drops everything waiting (the attempt lost its lease: nobody will accept it). */
  clear(): void {
    this.lines = [];
    this.head = 0;
    this.bytes = 0;
    this.oldestAt = 0;
  }
}

export interface LogShipperOptions {
  /** Sends one batch; rejects on failure. */
  send(batch: LogBatch): Promise<unknown>;
  /** The controller refuses this attempt for good (lease lost): called once, shipping stops. */
  onLeaseLost?(err: unknown): void;
  /** Each failed send (for the worker's own log). */
  onError?(err: unknown, failures: number): void;
  batchBytes?: number;
  lingerMs?: number;
  maxBufferedBytes?: number;
  retry?: { baseMs?: number; maxMs?: number };
}

export class LogShipper {
  private readonly buffer: BatchBuffer;
  private readonly batchBytes: number;
  private readonly lingerMs: number;
  private readonly maxBufferedBytes: number;
  private inFlight = false;
  /** The batch being sent, or one that failed and must be re-sent exactly as it was. */
  private current: LogBatch | undefined;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private dead = false;
  private dropped = 0;
  private idleWaiters: Array<() => void> = [];
  /** Lines acknowledged by the controller. */
  shippedLines = 0;
  shippedBatches = 0;

  constructor(private readonly options: LogShipperOptions) {
    this.batchBytes = options.batchBytes ?? DEFAULT_BATCH_BYTES;
    this.buffer = new BatchBuffer(this.batchBytes);
    this.lingerMs = options.lingerMs ?? DEFAULT_LINGER_MS;
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  }

  /** Queues one (already masked) line. Never blocks, never throws. */
  push(line: LogLine): void {
    if (this.dead) return;
    const bytes = estimateLineBytes(line);
    if (this.buffer.pendingBytes + bytes > this.maxBufferedBytes) {
      this.dropped++;
      return;
    }
    if (this.dropped > 0) {
      this.buffer.push({ t: line.t, stream: 'system', phase: line.phase, text: `[${this.dropped} log lines dropped: the controller was unreachable and the buffer was full]` });
      this.dropped = 0;
    }
    this.buffer.push(line, bytes);
    if (this.inFlight) return;
    if (this.buffer.full) this.sendNow();
    else if (!this.timer) this.timer = setTimeout(() => this.sendNow(), this.lingerMs);
  }

  /** Lines queued but not yet acknowledged (including a batch in flight or awaiting retry). */
  get pendingLines(): number {
    return this.buffer.pendingLines + (this.current?.lines.length ?? 0);
  }

  get leaseLost(): boolean {
    return this.dead;
  }

  /**
   * Sends everything queued now and resolves when the controller has acknowledged
   * it (retrying as long as needed), or when `signal` aborts, or when the lease is
   * lost. Returns true when everything was acknowledged.
   */
  async flush(signal?: AbortSignal): Promise<boolean> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (!this.inFlight) this.sendNow();
    if (this.isIdle()) return !this.dead;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.idleWaiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
    return this.isIdle() && !this.dead;
  }

  /** Stops for good: pending lines are dropped, timers cleared. */
  close(): void {
    this.dead = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.buffer.clear();
    this.current = undefined;
    this.wakeIdleWaiters();
  }

  private isIdle(): boolean {
    return this.dead || (!this.current && this.buffer.pendingLines === 0);
  }

  private wakeIdleWaiters(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  private sendNow(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.inFlight || this.dead) return;
    const backlog = this.buffer.pendingBytes > this.batchBytes * 2;
    const batch = (this.current ??= this.buffer.cut(backlog ? Math.max(this.batchBytes, BACKLOG_BATCH_BYTES) : this.batchBytes));
    if (!batch) {
      this.wakeIdleWaiters();
      return;
    }
    this.inFlight = true;
    this.options.send(batch).then(
      () => this.onSent(batch),
      (err: unknown) => this.onFailed(batch, err),
    );
  }

  private onSent(batch: LogBatch): void {
    this.inFlight = false;
    this.current = undefined;
    this.failures = 0;
    this.shippedLines += batch.lines.length;
    this.shippedBatches++;
    if (this.dead) return;
    if (this.buffer.pendingLines === 0) return this.wakeIdleWaiters();
    // Lines that arrived while the request was out: send now if a batch is full, a flush
    // is waiting, or they already waited a linger; else let them gather a little longer.
    const waited = Date.now() - this.buffer.oldestAt;
    if (this.buffer.full || this.idleWaiters.length > 0 || waited >= this.lingerMs) this.sendNow();
    else this.timer = setTimeout(() => this.sendNow(), this.lingerMs - waited);
  }

  private onFailed(batch: LogBatch, err: unknown): void {
    this.inFlight = false;
    if (this.dead) return;
    if (isLeaseLost(err)) {
      this.close();
      this.options.onLeaseLost?.(err);
      return;
    }
    this.failures++;
    this.options.onError?.(err, this.failures);
    if (err instanceof ApiError && err.code === 'PAYLOAD_TOO_LARGE' && batch.lines.length > 1) {
      // Bigger on the wire than estimated (multi-byte or escaped text): send it in halves, the
      // first under this seq (never accepted, so still free), the rest back in the queue.
      const half = Math.ceil(batch.lines.length / 2);
      this.buffer.unshift(batch.lines.slice(half));
      this.current = { seq: batch.seq, lines: batch.lines.slice(0, half) };
    } else if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.code !== 'BODY_TIMEOUT') {
      // The controller refuses this batch as such (it would refuse it forever). Replace it,
      // under the same seq so numbering stays gap-free, by a line saying what was lost.
      this.current = {
        seq: batch.seq,
        lines: [{ t: batch.lines[0]!.t, stream: 'system', text: `[${batch.lines.length} log lines refused by the controller: ${err.code}]` }],
      };
    }
    this.timer = setTimeout(() => this.sendNow(), backoffDelay(this.failures, this.options.retry));
  }
}

