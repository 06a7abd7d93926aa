import { isoAfter, nowIso, type Db } from '../rows.js';
import type { AttemptRecord } from '../store.js';
import { getAttemptForWorker } from './attempt-for-worker.js';

/** Renews a live lease; a lapsed one stays lapsed (the sweeper may already have requeued the build). */
export async function heartbeat(db: Db, workerId: string, attemptId: string, leaseTtlMs: number): Promise<AttemptRecord | undefined> {
  const now = nowIso();
  const result = await db
    .updateTable('attempts')
    .set({ lease_expires_at: isoAfter(leaseTtlMs) })
    .where('id', '=', attemptId)
    .where('worker_id', '=', workerId)
    .where('status', '=', 'running')
    .where('lease_expires_at', '>=', now)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) return undefined;
  return getAttemptForWorker(db, workerId, attemptId);
}
