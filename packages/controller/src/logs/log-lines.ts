/**
 * Reading a build's log in bounded pieces. Batches are stored as the worker sent
 * them (up to 4 MiB each); a read plans its loads from the batch index (sizes
 * and line counts, no log text), loads about LOAD_BYTES of batches at a time
 * (always at least one), and stops at a line or byte budget, possibly inside a
 * batch. Memory per read is one load plus what the caller keeps, whatever the
 * log's length. Lines are cut out of the stored JSON text, not parsed into
 * objects and serialised again: a long read then allocates little besides the
 * text it sends (the garbage of parsing grew the heap by ~100 MB on a 1M-line
 * log before the collector caught up). The tail is found by walking the index
 * backwards.
 */
import { LOG_PAGE_MAX_BYTES } from '@buildmesh/protocol';
import type { Store } from '../store/store.js';

/** The next line to read: line `line` of the first batch at or after (attempt, seq). */
export interface LogPosition {
  attempt: number;
  seq: number;
  line: number;
}

export interface LogReadOptions {
  attempt?: number;
  maxLines: number;
  /** Stop once this many bytes of serialised entries were produced (after at least one line). */
  maxBytes?: number;
}

const LOAD_BYTES = 1024 * 1024;
const INDEX_ROWS = 256;

/**
 * Yields entries (LogEntry JSON text, the attempt added) from `from`; returns
 * where to continue and whether every stored line was read (`atEnd`).
 */
export async function* readLogLines(
  store: Store,
  orgId: string,
  buildId: string,
  from: LogPosition,
  options: LogReadOptions,
): AsyncGenerator<string, { next: LogPosition; atEnd: boolean }> {
  const maxBytes = options.maxBytes ?? LOG_PAGE_MAX_BYTES;
  let pos = from;
  let lines = 0;
  let bytes = 0;
  for (;;) {
    const index = await store.logBatchIndex(orgId, buildId, { from: pos, limit: INDEX_ROWS, attempt: options.attempt });
    if (index.length === 0) return { next: pos, atEnd: true };
    // Load a prefix of about LOAD_BYTES, at least one batch, and no more batches than lines still wanted.
    let count = 0;
    let load = 0;
    let wanted = 0;
    while (count < index.length && (count === 0 || (load + index[count]!.size <= LOAD_BYTES && wanted < options.maxLines - lines))) {
      load += index[count]!.size;
      wanted += index[count]!.lineCount;
      count++;
    }
    const loaded = await store.logBatchLines(orgId, buildId, { first: index[0]!, last: index[count - 1]!, attempt: options.attempt });
    for (const batch of loaded) {
      const start = batch.attempt === pos.attempt && batch.seq === pos.seq ? pos.line : 0;
      let i = 0;
      for (const [from, to] of lineSpans(batch.lines)) {
        if (i++ < start) continue;
        if (lines >= options.maxLines || (lines > 0 && bytes >= maxBytes)) return { next: { attempt: batch.attempt, seq: batch.seq, line: i - 1 }, atEnd: false };
        // The stored line is a flat JSON object without an `attempt` (validated on the way in): add it before the brace.
        const entry = `${batch.lines.slice(from, to - 1)},"attempt":${batch.attempt}}`;
        lines++;
        bytes += entry.length;
        yield entry;
      }
      pos = { attempt: batch.attempt, seq: batch.seq + 1, line: 0 };
    }
    if (loaded.length === 0) return { next: pos, atEnd: true };
  }
}

/** Where the last `count` stored lines begin (the start when the log is shorter). */
export async function tailPosition(store: Store, orgId: string, buildId: string, count: number, attempt?: number): Promise<LogPosition> {
  let before: { attempt: number; seq: number } | null = null;
  let seen = 0;
  for (;;) {
    const index = await store.logBatchIndex(orgId, buildId, { from: before, limit: INDEX_ROWS, attempt, backwards: true });
    for (const b of index) {
      seen += b.lineCount;
      if (seen >= count) return { attempt: b.attempt, seq: b.seq, line: seen - count };
    }
    if (index.length < INDEX_ROWS) return { attempt: 0, seq: 0, line: 0 };
    before = index.at(-1)!;
  }
}

/**
 * [start, end) of each object in a stored batch: the JSON text of a LogLine[] as
 * JSON.stringify wrote it (no whitespace; flat objects, so a `}` outside a string
 * ends one). Strings are skipped quote to quote, minding backslash escapes.
 */
export function* lineSpans(text: string): Generator<[number, number]> {
  let i = 1; // after '['
  while (i < text.length && text.charCodeAt(i) === 0x7b /* { */) {
    const start = i;
    for (let j = i + 1; ; ) {
      const quote = text.indexOf('"', j);
      const brace = text.indexOf('}', j);
      if (brace === -1) throw new Error('a stored log batch is not a JSON array of objects');
      if (quote !== -1 && quote < brace) {
        // Skip the string: its end is the next quote not escaped by an odd run of backslashes.
        let end = text.indexOf('"', quote + 1);
        for (;;) {
          let backslashes = 0;
          while (text.charCodeAt(end - 1 - backslashes) === 0x5c /* \\ */) backslashes++;
          if (backslashes % 2 === 0) break;
          end = text.indexOf('"', end + 1);
        }
        j = end + 1;
        continue;
      }
      i = brace + 1;
      break;
    }
    yield [start, i];
    if (text.charCodeAt(i) === 0x2c /* , */) i++;
  }
}
