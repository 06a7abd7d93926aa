import type { Kysely } from 'kysely';
import { ApiError, type LogLine } from '@buildmesh/protocol';
import type { Database } from '../schema.js';
import { requireLiveAttempt } from './attempt-for-worker.js';

/**
 * Appends one batch. Batches are numbered 1, 2, 3… per attempt: a batch already
 * stored is acknowledged again without a second copy (the worker re-sends after a
 * lost reply), and a batch that skips ahead is refused so readers' cursors never
 * jump over a line that arrives later.
 */
export async function appendLogs(
  db: Kysely<Database>,
  workerId: string,
  attemptId: string,
  seq: number,
  lines: LogLine[],
): Promise<{ duplicate: boolean; buildId: string }> {
  const body = JSON.stringify(lines);
  return db.transaction().execute(async (trx) => {
    const attempt = await requireLiveAttempt(trx, workerId, attemptId);
    if (seq <= attempt.lastLogSeq) return { duplicate: true, buildId: attempt.buildId };
    if (seq !== attempt.lastLogSeq + 1) throw new ApiError('LOG_SEQ_GAP', `expected batch ${attempt.lastLogSeq + 1}, got ${seq}`);
    const inserted = await trx
      .insertInto('log_batches')
      .values({ attempt_id: attemptId, seq, build_id: attempt.buildId, attempt_number: attempt.number, line_count: lines.length, lines: body, size: body.length })
      // The same batch re-sent through another replica at the same moment: the first copy wins, the second is a duplicate.
      .onConflict((oc) => oc.columns(['attempt_id', 'seq']).doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows) !== 1) return { duplicate: true, buildId: attempt.buildId };
    await trx.updateTable('attempts').set({ last_log_seq: seq }).where('id', '=', attemptId).execute();
    return { duplicate: false, buildId: attempt.buildId };
  });
}
