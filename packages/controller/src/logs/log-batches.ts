/**
 * Reading a build's log as the batches it was stored in (GET …/logs?format=batches, for the
 * dashboard's reading of a whole log): each batch's stored JSON goes out as the bytes the store holds,
 * wrapped with its attempt — no line is cut out, parsed, decoded or encoded again, and a page never
 * reads a batch twice. Only a first batch that a cursor points inside is cut (at that line). Loads are planned from the
 * batch index as in log-lines.ts, about LOAD_BYTES at a time: memory per read is one load.
 */
import type { Store } from '../store/store.js';
import { lineSpans, type LogPosition } from './log-lines.js';

const LOAD_BYTES = 4 * 1024 * 1024;
const INDEX_ROWS = 256;

export interface LogBatchReadOptions {
  attempt?: number;
  /** Lines and bytes of stored text a page holds at most, past its first batch. */
  maxLines: number;
  maxBytes: number;
}

/** The stored batch from line `line` on (a JSON array), or undefined when it has no more lines. */
function fromLine(bytes: Buffer, line: number): Buffer | undefined {
  const text = bytes.toString('utf8');
  let i = 0;
  for (const [start] of lineSpans(text)) if (i++ === line) return Buffer.from(`[${text.slice(start)}`);
  return undefined;
}

/** One stored batch: its attempt and its JSON (a LogLine[]) as stored. */
export interface StoredBatch {
  attempt: number;
  lines: Buffer;
}

/** Yields the batches from `from`; returns where to continue and whether every stored line was read (`atEnd`). */
export async function* readLogBatches(
  store: Store,
  orgId: string,
  buildId: string,
  from: LogPosition,
  options: LogBatchReadOptions,
): AsyncGenerator<StoredBatch, { next: LogPosition; atEnd: boolean }> {
  let pos = from;
  let lines = 0;
  let bytes = 0;
  for (;;) {
    const index = await store.logBatchIndex(orgId, buildId, { from: pos, limit: INDEX_ROWS, attempt: options.attempt });
    if (index.length === 0) return { next: pos, atEnd: true };
    let taken = 0;
    while (taken < index.length) {
      // The next load: batches that still fit the page (the page's first always does), about LOAD_BYTES.
      let count = 0;
      let load = 0;
      let plannedLines = 0;
      let full = false;
      while (taken + count < index.length) {
        const b = index[taken + count]!;
        const n = b.lineCount - (b.attempt === pos.attempt && b.seq === pos.seq ? pos.line : 0);
        const first = lines === 0 && count === 0;
        if (!first && (lines + plannedLines + n > options.maxLines || bytes + load + b.size > options.maxBytes)) {
          full = true;
          break;
        }
        if (count > 0 && load + b.size > LOAD_BYTES) break;
        count++;
        load += b.size;
        plannedLines += n;
      }
      if (count > 0) {
        const loaded = await store.logBatchBytes(orgId, buildId, { first: index[taken]!, last: index[taken + count - 1]!, attempt: options.attempt });
        // Gone meanwhile (retention): nothing more to read.
        if (loaded.length === 0) return { next: pos, atEnd: true };
        for (const batch of loaded) {
          const cut = batch.attempt === pos.attempt && batch.seq === pos.seq && pos.line > 0;
          const lines = cut ? fromLine(batch.lines, pos.line) : batch.lines;
          pos = { attempt: batch.attempt, seq: batch.seq + 1, line: 0 };
          if (!lines) continue;
          bytes += lines.length;
          yield { attempt: batch.attempt, lines };
        }
        lines += plannedLines;
        taken += count;
      }
      if (full) return { next: pos, atEnd: false };
    }
  }
}
