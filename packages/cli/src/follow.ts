/**
 * Following a build: while it is queued, its queue position, ETA and why it waits; once it
 * runs, its live log with a header per phase; at the end, the build as the controller has it.
 * The log stream (client.followLogs) resumes from its cursor across dropped connections and
 * controller restarts, so every line is shown once and in order; the queue poller and the final
 * read retry the same way (reconnect.ts), with "connection lost — retrying (n)" on stderr meanwhile.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Build, BuildMeshClient, BuildStatus, LogEntry } from '@buildmesh/protocol';
import { formatDuration, terminalText, type Colors } from './output.js';
import { connectionNotice, retryWithNotice, type RetryNotice } from './reconnect.js';
import pc from 'picocolors';

const QUEUE_POLL_MS = 2000;

export interface FollowHandlers {
  onEntry(entry: LogEntry): void;
  /** Called with the build (queue info included) each time it is polled while queued. */
  onQueue?(build: Build): void;
  /** Called when the stream reports a status change. */
  onStatus?(status: BuildStatus): void;
}

export interface FollowOptions {
  signal?: AbortSignal;
  /** Only this attempt's lines. */
  attempt?: number;
  /** Start after this log cursor (e.g. a tail page's nextCursor) instead of the first line. */
  cursor?: string;
  handlers: FollowHandlers;
  /** What to show while the controller is away (default: the notice on stderr). */
  notice?: RetryNotice;
}

/** Follows until the build ends; resolves with the ended build (error and attempts included). */
export async function followBuild(client: BuildMeshClient, buildId: string, options: FollowOptions): Promise<Build> {
  const { handlers, signal } = options;
  const notice = options.notice ?? connectionNotice();
  const initial = await retryWithNotice(() => client.getBuild(buildId), { signal, notice });
  let status: BuildStatus = initial.status;
  if (status === 'queued') handlers.onQueue?.(initial);

  // The queue poller lives as long as the log stream; it only asks while the build is queued.
  const pollerStop = new AbortController();
  const pollerSignal = signal ? AbortSignal.any([signal, pollerStop.signal]) : pollerStop.signal;
  const poller = (async () => {
    while (!pollerSignal.aborted) {
      await sleep(QUEUE_POLL_MS, undefined, { signal: pollerSignal });
      if (status !== 'queued') continue;
      try {
        const build = await client.getBuild(buildId);
        if (status === 'queued' && build.status === 'queued') handlers.onQueue?.(build);
      } catch {
        // Transient: the log stream reports lasting trouble; the next poll tries again.
      }
    }
  })();
  poller.catch(() => {}); // ends with an AbortError by design

  try {
    const stream = client.followLogs(buildId, {
      attempt: options.attempt,
      cursor: options.cursor,
      signal,
      ...notice,
      onStatus: (s) => {
        status = s;
        handlers.onStatus?.(s);
      },
    });
    for (;;) {
      const next = await stream.next();
      if (next.done) break;
      if (status === 'queued') status = 'running';
      handlers.onEntry(next.value);
    }
  } finally {
    pollerStop.abort();
  }
  return retryWithNotice(() => client.getBuild(buildId), { signal, notice });
}

/** One line about a queued build: position, ETA and why it waits. */
export function describeQueue(build: Build): string {
  const q = build.queue;
  if (!q) return 'queued';
  const parts = [q.positionCapped ? `queued · ${(q.position - 1).toLocaleString('en-US')}+ ahead` : `queued · position ${q.position}`];
  if (q.etaSeconds !== null) parts.push(`starts in ~${formatDuration(q.etaSeconds)}`);
  if (q.reason) parts.push(q.reason);
  return parts.join(' · ');
}

/**
 * A log section's heading: EAS's phase names (INSTALL_DEPENDENCIES…) as they are; a custom build
 * config's step (phase CUSTOM, or the step's own id) by its name from the YAML, which START_PHASE carries.
 */
export function sectionLabel(phase: string | undefined, title: string): string {
  if (!phase) return title;
  const standard = /^[A-Z][A-Z0-9_]*$/.test(phase) && phase !== 'CUSTOM';
  return standard || !title.trim() ? phase : title;
}

/**
 * Prints log entries for people: a header when a phase starts, a result line when it ends, the
 * attempt number when a retry begins; the queue line updates in place on a terminal. Output can
 * be paused (while a question is asked) and resumes with what arrived meanwhile.
 */
export class LogPrinter {
  private readonly c: Colors;
  private readonly tty: boolean;
  private attempt: number | null = null;
  private paused = false;
  private buffer: string[] = [];
  private queueShown = false;
  private lastQueueKey = '';
  /** Each phase's section label, from its START_PHASE (for the END_PHASE line). */
  private readonly labels = new Map<string, string>();

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly statusStream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = stream.isTTY === true;
    this.c = pc.createColors(this.tty && !process.env.NO_COLOR);
  }

  entry(e: LogEntry): void {
    this.clearQueueLine();
    const { c } = this;
    if (e.attempt !== this.attempt) {
      if (this.attempt !== null || e.attempt > 1) {
        this.write('');
        this.write(c.bold(c.magenta(`── attempt ${e.attempt} ──`)));
      }
      this.attempt = e.attempt;
    }
    if (e.marker === 'START_PHASE') {
      const label = sectionLabel(e.phase, e.text);
      if (e.phase) this.labels.set(e.phase, label);
      this.write('');
      this.write(this.tty ? c.bold(c.cyan(`▶ ${label}`)) : `== ${label}`);
      return;
    }
    if (e.marker === 'END_PHASE') {
      const result = e.result ?? 'done';
      const duration = e.durationMs !== undefined ? ` in ${formatDuration(e.durationMs / 1000)}` : '';
      const exit = e.exitCode !== undefined && e.exitCode !== null && e.exitCode !== 0 ? ` (exit ${e.exitCode})` : '';
      const ok = result === 'success' || result === 'skipped' || result === 'warning';
      const text = `${(e.phase && this.labels.get(e.phase)) ?? e.phase ?? ''}: ${result}${exit}${duration}`;
      this.write(this.tty ? (ok ? c.green(`✔ ${text}`) : c.red(`✖ ${text}`)) : `== ${text}`);
      return;
    }
    this.write(e.stream === 'system' ? c.dim(e.text) : e.text);
  }

  queue(build: Build): void {
    const line = describeQueue(build);
    if (this.statusStream.isTTY) {
      if (this.paused) return;
      this.statusStream.write(`\r\x1b[K${this.c.cyan('⏳')} ${terminalText(line)}`);
      this.queueShown = true;
    } else {
      // Plain output: a line only when where it stands or why it waits changes.
      const key = `${build.queue?.position}|${build.queue?.reason}`;
      if (key === this.lastQueueKey) return;
      this.lastQueueKey = key;
      this.statusStream.write(terminalText(line) + '\n');
    }
  }

  message(line: string): void {
    this.clearQueueLine();
    this.write(line);
  }

  pause(): void {
    this.clearQueueLine();
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    const buffered = this.buffer;
    this.buffer = [];
    for (const line of buffered) this.stream.write(terminalText(line) + '\n');
  }

  clearQueueLine(): void {
    if (this.queueShown) {
      this.statusStream.write('\r\x1b[K');
      this.queueShown = false;
    }
  }

  private write(line: string): void {
    if (this.paused) this.buffer.push(line);
    else this.stream.write(terminalText(line) + '\n');
  }
}
