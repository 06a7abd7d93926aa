import { isoAfter, nowIso, type Db } from '../rows.js';
import { prepared } from '../prepared.js';
import type { AttemptRecord } from '../store.js';
import { getAttemptForWorker } from './attempt-for-worker.js';

/** Renews a live lease; a lapsed one stays lapsed (the sweeper may already have requeued the build). */
const renewLease = prepared(4, (db, attemptId: string, workerId: string, now: string, until: string) =>
  db
    .updateTable('attempts')
    .set({ lease_expires_at: until })
    .where('id', '=', attemptId)
    .where('worker_id', '=', workerId)
    .where('status', '=', 'running')
    .where('lease_expires_at', '>=', now),
);

export async function heartbeat(db: Db, workerId: string, attemptId: string, leaseTtlMs: number): Promise<AttemptRecord | undefined> {
  const renewed = await renewLease(db, attemptId, workerId, nowIso(), isoAfter(leaseTtlMs));
  if (Number(renewed.numAffectedRows) !== 1) return undefined;
  return getAttemptForWorker(db, workerId, attemptId);
}
