import type { Db } from '../rows.js';

export type BatchPosition = { attempt: number; seq: number };
export interface LogBatchInfo extends BatchPosition {
  lineCount: number;
  /** Length of the stored JSON. */
  size: number;
}

/** One build's batches in (attempt, seq) order, through its org (another org's build has none). */
function batches(db: Db, orgId: string, buildId: string, attempt: number | undefined) {
  let q = db
    .selectFrom('log_batches')
    .innerJoin('builds', 'builds.id', 'log_batches.build_id')
    .where('builds.id', '=', buildId)
    .where('builds.org_id', '=', orgId)
    .where('log_batches.build_id', '=', buildId);
  if (attempt !== undefined) q = q.where('log_batches.attempt_number', '=', attempt);
  return q;
}

/**
 * Up to `limit` batches' sizes, from the covering index alone (no log text is
 * read): at or after `from` in reading order, or with `backwards` before it,
 * newest first (`from` null = the end). Log pages plan their loads from this.
 */
export async function logBatchIndex(
  db: Db,
  orgId: string,
  buildId: string,
  options: { from: BatchPosition | null; limit: number; attempt?: number; backwards?: boolean },
): Promise<LogBatchInfo[]> {
  let q = batches(db, orgId, buildId, options.attempt).select([
    'log_batches.attempt_number',
    'log_batches.seq',
    'log_batches.line_count',
    'log_batches.size',
  ]);
  const from = options.from;
  // Row values compare as (attempt, seq) pairs and walk the index from there, in both engines.
  if (from) q = q.where((eb) => eb(eb.refTuple('log_batches.attempt_number', 'log_batches.seq'), options.backwards ? '<' : '>=', eb.tuple(from.attempt, from.seq)));
  const order = options.backwards ? 'desc' : 'asc';
  const rows = await q.orderBy('log_batches.attempt_number', order).orderBy('log_batches.seq', order).limit(options.limit).execute();
  return rows.map((r) => ({ attempt: r.attempt_number, seq: r.seq, lineCount: r.line_count, size: Number(r.size) }));
}

/** The stored JSON of the batches from `first` to `last` (inclusive), in order: callers keep the range small. */
export async function logBatchLines(
  db: Db,
  orgId: string,
  buildId: string,
  options: { first: BatchPosition; last: BatchPosition; attempt?: number },
): Promise<Array<BatchPosition & { lines: string }>> {
  const { first, last } = options;
  const rows = await batches(db, orgId, buildId, options.attempt)
    .select(['log_batches.attempt_number', 'log_batches.seq', 'log_batches.lines'])
    .where((eb) => eb(eb.refTuple('log_batches.attempt_number', 'log_batches.seq'), '>=', eb.tuple(first.attempt, first.seq)))
    .where((eb) => eb(eb.refTuple('log_batches.attempt_number', 'log_batches.seq'), '<=', eb.tuple(last.attempt, last.seq)))
    .orderBy('log_batches.attempt_number')
    .orderBy('log_batches.seq')
    .execute();
  return rows.map((r) => ({ attempt: r.attempt_number, seq: r.seq, lines: r.lines }));
}
