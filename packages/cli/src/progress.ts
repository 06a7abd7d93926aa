/**
 * A byte progress bar on stderr (stdout stays for results): bytes done, total, rate and ETA,
 * redrawn in place at most ~10 times a second on a terminal. When stderr is not a terminal it
 * prints plain lines instead: for a large transfer one at the start and one per quarter; for
 * every transfer one at the end.
 */
import pc from 'picocolors';
import { formatBytes } from './pack/pack.js';
import { formatDuration } from './output.js';

export interface Progress {
  /** Sets the bytes done so far (monotonic). */
  update(bytesDone: number): void;
  /** Ends the bar with a summary line. */
  done(summary?: string): void;
  /** Ends the bar without a summary (an error follows). */
  fail(): void;
}

const REDRAW_MS = 100;
/** Rate and ETA are shown once this much time has been measured. */
const RATE_AFTER_MS = 1000;
const BAR_WIDTH = 24;
/** Without a terminal, transfers smaller than this print only their summary line. */
const PLAIN_DETAIL_MIN_BYTES = 8 * 1024 * 1024;

export function createProgress(label: string, total: number | null, stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY === true;
  const c = pc.createColors(tty && !process.env.NO_COLOR);
  const started = Date.now();
  let bytes = 0;
  let lastDraw = 0;
  let lastQuarter = 0;
  let ended = false;

  const rate = () => bytes / Math.max(0.001, (Date.now() - started) / 1000);
  const line = () => {
    const parts = [label];
    if (total && total > 0) {
      const fraction = Math.min(1, bytes / total);
      const filled = Math.round(fraction * BAR_WIDTH);
      parts.push(c.cyan('█'.repeat(filled)) + c.dim('░'.repeat(BAR_WIDTH - filled)));
      parts.push(`${String(Math.floor(fraction * 100)).padStart(3)}%`);
      parts.push(`${formatBytes(bytes)} / ${formatBytes(total)}`);
    } else {
      parts.push(formatBytes(bytes));
    }
    // The first frames measure the pipe filling, not the link: no rate or ETA before a second has passed.
    if (Date.now() - started >= RATE_AFTER_MS) {
      parts.push(`${formatBytes(Math.round(rate()))}/s`);
      if (total && bytes > 0 && bytes < total) parts.push(`ETA ${formatDuration((total - bytes) / rate())}`);
    }
    return parts.join('  ');
  };

  const plainDetail = !tty && (total === null || total >= PLAIN_DETAIL_MIN_BYTES);
  if (plainDetail) stream.write(`${label} ${total ? formatBytes(total) : ''}…\n`);

  return {
    update(bytesDone) {
      if (ended) return;
      bytes = Math.max(bytes, bytesDone);
      if (tty) {
        const now = Date.now();
        if (now - lastDraw < REDRAW_MS) return;
        lastDraw = now;
        stream.write(`\r\x1b[K${line()}`);
      } else if (plainDetail && total && total > 0) {
        const quarter = Math.floor((Math.min(bytes, total) / total) * 4);
        if (quarter > lastQuarter && quarter < 4) {
          lastQuarter = quarter;
          stream.write(`${label} ${quarter * 25}% (${formatBytes(bytes)} of ${formatBytes(total)})\n`);
        }
      }
    },
    done(summary) {
      if (ended) return;
      ended = true;
      const seconds = (Date.now() - started) / 1000;
      const text = summary ?? `${label} done: ${formatBytes(bytes)} in ${formatDuration(seconds)} (${formatBytes(Math.round(rate()))}/s)`;
      stream.write(tty ? `\r\x1b[K${text}\n` : `${text}\n`);
    },
    fail() {
      if (ended) return;
      ended = true;
      if (tty) stream.write('\n');
    },
  };
}
