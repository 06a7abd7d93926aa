/**
 * Turns what a build prints into LogLine records: masks secrets first (before
 * anything is queued), stamps phase, stream and time, splits lines longer than
 * the protocol allows, and keeps the last lines of the current phase for
 * failure classification. One object per line; no per-line syscalls.
 */
import type { LogLine, LogStream, PhaseResult } from '@buildmesh/protocol';
import type { Masker } from './mask-secrets.js';

/** LogLine.text's maximum length in the protocol. */
export const MAX_LINE_LENGTH = 65_536;
/** EAS keeps the last 100 lines of each phase for error detection; so do we. */
export const TAIL_LINES = 100;

export type LineSink = (line: LogLine) => void;

/** Fixed-size ring of the most recent lines. */
export class LineRing {
  private readonly items: string[];
  private next = 0;
  private count = 0;

  constructor(readonly capacity = TAIL_LINES) {
    this.items = new Array<string>(capacity);
  }

  push(line: string): void {
    this.items[this.next] = line;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /** Oldest first. */
  lines(): string[] {
    const out: string[] = [];
    const start = (this.next - this.count + this.capacity) % this.capacity;
    for (let i = 0; i < this.count; i++) out.push(this.items[(start + i) % this.capacity]!);
    return out;
  }

  clear(): void {
    this.next = 0;
    this.count = 0;
  }
}

export class BuildLog {
  /** Output of the phase running now (reset at each START_PHASE). */
  readonly tail = new LineRing();

  constructor(
    private readonly sink: LineSink,
    private mask: Masker,
  ) {}

  /** Masks more values from now on (a pipeline's generated passwords are known only once it has planned). */
  setMask(mask: Masker): void {
    this.mask = mask;
  }

  /** One line of process output (or of a task's log). */
  write(stream: LogStream, phase: string | undefined, text: string): void {
    const masked = this.mask(text);
    if (masked.length <= MAX_LINE_LENGTH) {
      this.tail.push(masked);
      this.sink({ t: Date.now(), stream, phase, text: masked });
      return;
    }
    for (let i = 0; i < masked.length; i += MAX_LINE_LENGTH) {
      const part = masked.slice(i, i + MAX_LINE_LENGTH);
      this.tail.push(part);
      this.sink({ t: Date.now(), stream, phase, text: part });
    }
  }

  /** A message of the worker itself (not of the build's processes). */
  system(phase: string | undefined, text: string): void {
    for (const line of text.split('\n')) this.write('system', phase, line);
  }

  startPhase(phase: string, title: string): void {
    this.tail.clear();
    this.sink({ t: Date.now(), stream: 'system', phase, marker: 'START_PHASE', text: this.mask(title).slice(0, MAX_LINE_LENGTH) });
  }

  endPhase(phase: string, title: string, result: PhaseResult, durationMs: number, exitCode: number | null | undefined): void {
    this.sink({
      t: Date.now(),
      stream: 'system',
      phase,
      marker: 'END_PHASE',
      text: this.mask(`${title}: ${result} in ${formatDuration(durationMs)}`).slice(0, MAX_LINE_LENGTH),
      result,
      durationMs,
      ...(exitCode !== undefined ? { exitCode } : {}),
    });
  }
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m ${Math.round((ms % 60_000) / 1000)}s`;
}
