import type { Db } from '../rows.js';

/** The counts /metrics exposes, read on scrape (no counters kept in memory to drift). */
export async function stats(db: Db, onlineWithinMs: number) {
  const byStatus = await db.selectFrom('builds').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('status').execute();
  const queued = await db
    .selectFrom('builds')
    .select(['platform', (eb) => eb.fn.countAll<number>().as('n')])
    .where('status', '=', 'queued')
    .groupBy('platform')
    .execute();
  const online = await db
    .selectFrom('workers')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('revoked_at', 'is', null)
    .where('last_seen_at', '>=', new Date(Date.now() - onlineWithinMs).toISOString())
    .executeTakeFirstOrThrow();
  return {
    buildsByStatus: Object.fromEntries(byStatus.map((r) => [r.status, Number(r.n)])),
    queuedByPlatform: Object.fromEntries(queued.map((r) => [r.platform, Number(r.n)])),
    workersOnline: Number(online.n),
  };
}
