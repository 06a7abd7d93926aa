import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';
import { isPostgres } from '../rows.js';

/**
 * Undoes a claim whose long-poll client went away before the answer reached it:
 * the attempt never started, so it is removed and the build goes back to the
 * queue without using up one of its attempts. Guarded so it can only undo an
 * untouched attempt (no heartbeat beyond the first lease, no log batch) of a build still running it:
 * a cancel that committed in between is never undone.
 */
export async function releaseClaim(db: Kysely<Database>, workerId: string, attemptId: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    let untouched = trx
      .selectFrom('attempts')
      .select(['build_id', 'number'])
      .where('id', '=', attemptId)
      .where('worker_id', '=', workerId)
      .where('status', '=', 'running')
      .where('last_log_seq', '=', 0);
    if (isPostgres(trx)) untouched = untouched.forUpdate();
    const attempt = await untouched.executeTakeFirst();
    if (!attempt) return false;
    // Guarded write, not a read then a write: a cancel (or anything else) that committed since the claim
    // leaves the build alone (on PostgreSQL the update re-checks the row once a concurrent writer commits).
    const requeued = await trx
      .updateTable('builds')
      .set({ status: 'queued', attempt_count: attempt.number - 1, ...(attempt.number === 1 ? { started_at: null } : {}) })
      .where('id', '=', attempt.build_id)
      .where('status', '=', 'running')
      .where('attempt_count', '=', attempt.number)
      .executeTakeFirst();
    if (Number(requeued.numUpdatedRows) !== 1) return false;
    await trx.deleteFrom('attempts').where('id', '=', attemptId).execute();
    return true;
  });
}
