import { sql } from 'kysely';
import type { Db } from '../rows.js';
import type { BatchPosition } from './read-logs.js';

/**
 * The stored JSON of the batches from `first` to `last` (inclusive) as UTF-8 bytes, through the
 * build's org: what a page of stored batches sends as it is, never decoded into a string and encoded
 * again (SQLite hands out a text's bytes with a cast to blob; PostgreSQL with convert_to).
 */
export async function logBatchBytes(
  db: Db,
  dialect: 'sqlite' | 'postgres',
  orgId: string,
  buildId: string,
  options: { first: BatchPosition; last: BatchPosition; attempt?: number },
): Promise<Array<BatchPosition & { lines: Buffer }>> {
  const { first, last } = options;
  const bytes = dialect === 'postgres' ? sql<Buffer>`convert_to(log_batches.lines, 'UTF8')` : sql<Buffer>`cast(log_batches.lines as blob)`;
  let q = db
    .selectFrom('log_batches')
    .innerJoin('builds', 'builds.id', 'log_batches.build_id')
    .select(['log_batches.attempt_number', 'log_batches.seq', bytes.as('bytes')])
    .where('builds.id', '=', buildId)
    .where('builds.org_id', '=', orgId)
    .where('log_batches.build_id', '=', buildId)
    .where((eb) => eb(eb.refTuple('log_batches.attempt_number', 'log_batches.seq'), '>=', eb.tuple(first.attempt, first.seq)))
    .where((eb) => eb(eb.refTuple('log_batches.attempt_number', 'log_batches.seq'), '<=', eb.tuple(last.attempt, last.seq)));
  if (options.attempt !== undefined) q = q.where('log_batches.attempt_number', '=', options.attempt);
  const rows = await q.orderBy('log_batches.attempt_number').orderBy('log_batches.seq').execute();
  return rows.map((r) => ({ attempt: r.attempt_number, seq: r.seq, lines: r.bytes }));
}
