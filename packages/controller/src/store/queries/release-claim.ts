import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';

/**
 * Undoes a claim whose long-poll client went away before the answer reached it:
 * the attempt never started, so it is removed and the build goes back to the
 * queue without using up one of its attempts. Guarded so it can only undo an
 * untouched attempt (no heartbeat beyond the first lease, no log batch).
 */
export async function releaseClaim(db: Kysely<Database>, workerId: string, attemptId: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const attempt = await trx
      .selectFrom('attempts')
      .select(['build_id', 'number'])
      .where('id', '=', attemptId)
      .where('worker_id', '=', workerId)
      .where('status', '=', 'running')
      .where('last_log_seq', '=', 0)
      .executeTakeFirst();
    if (!attempt) return false;
    const build = await trx.selectFrom('builds').select(['status', 'attempt_count']).where('id', '=', attempt.build_id).executeTakeFirstOrThrow();
    if (build.status !== 'running' || build.attempt_count !== attempt.number) return false;
    await trx.deleteFrom('attempts').where('id', '=', attemptId).execute();
    await trx
      .updateTable('builds')
      .set({ status: 'queued', attempt_count: attempt.number - 1, ...(attempt.number === 1 ? { started_at: null } : {}) })
      .where('id', '=', attempt.build_id)
      .execute();
    return true;
  });
}
