import { toWorkerRecord, type Db } from '../rows.js';
import { emitWorkerEvent, inTransaction } from './webhook-events.js';

/**
 * worker.online / worker.offline: the workers row remembers the presence last announced, and
 * the change and its outbox rows commit together, so each transition is sent once whichever
 * replica sees it. Online: the first touch of a worker not announced online. Offline: the
 * sweeper finds it unseen for the online window (or revoked).
 */
export async function markWorkerOnline(db: Db, id: string): Promise<number> {
  return inTransaction(db, async (trx) => {
    const r = await trx
      .updateTable('workers')
      .set({ presence: 'online' })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('presence', 'is', null), eb('presence', '=', 'offline')]))
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) return 0;
    return emitPresence(trx, id, 'worker.online');
  });
}

export async function markWorkersOffline(db: Db, seenBefore: string, limit = 500): Promise<number> {
  const gone = await db
    .selectFrom('workers')
    .select('id')
    .where('presence', '=', 'online')
    .where((eb) => eb.or([eb('last_seen_at', '<', seenBefore), eb('last_seen_at', 'is', null), eb('revoked_at', 'is not', null)]))
    .limit(limit)
    .execute();
  let events = 0;
  for (const { id } of gone) {
    events += await inTransaction(db, async (trx) => {
      const r = await trx
        .updateTable('workers')
        .set({ presence: 'offline' })
        .where('id', '=', id)
        .where('presence', '=', 'online')
        .where((eb) => eb.or([eb('last_seen_at', '<', seenBefore), eb('last_seen_at', 'is', null), eb('revoked_at', 'is not', null)]))
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return 0;
      return emitPresence(trx, id, 'worker.offline');
    });
  }
  return events;
}

async function emitPresence(trx: Db, id: string, event: 'worker.online' | 'worker.offline'): Promise<number> {
  const row = await trx.selectFrom('workers').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const w = toWorkerRecord(row);
  return emitWorkerEvent(trx, { id: w.id, orgId: w.orgId, name: w.name, platforms: w.platforms, lastSeenAt: w.lastSeenAt }, event);
}
