import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';

/**
 * The counts /metrics exposes, from the store on every scrape (no counters kept
 * in memory to drift). Triggers add a -1/+1 row to build_count_deltas on every
 * build status change (migration 0003); a scrape first folds the rows written
 * since the last one into one per (status, platform), in a transaction, then sums
 * what is left: its cost follows the changes since the last scrape, not the
 * number of builds. DELETE … RETURNING removes exactly the rows it read, so a
 * delta committed meanwhile is kept for the next fold.
 */
export async function stats(db: Kysely<Database>, onlineWithinMs: number) {
  await db.transaction().execute(async (trx) => {
    const folded = new Map<string, { status: string; platform: string; n: number }>();
    for (const d of await trx.deleteFrom('build_count_deltas').returning(['status', 'platform', 'n']).execute()) {
      const key = `${d.status}\n${d.platform}`;
      const sum = folded.get(key) ?? { status: d.status, platform: d.platform, n: 0 };
      sum.n += Number(d.n);
      folded.set(key, sum);
    }
    const rows = [...folded.values()].filter((r) => r.n !== 0);
    if (rows.length) await trx.insertInto('build_count_deltas').values(rows).execute();
  });
  const counts = await db
    .selectFrom('build_count_deltas')
    .select(['status', 'platform', (eb) => eb.fn.sum<number>('n').as('n')])
    .groupBy(['status', 'platform'])
    .execute();
  const buildsByStatus: Record<string, number> = {};
  const queuedByPlatform: Record<string, number> = {};
  for (const r of counts) {
    const n = Number(r.n);
    if (n === 0) continue;
    buildsByStatus[r.status] = (buildsByStatus[r.status] ?? 0) + n;
    if (r.status === 'queued') queuedByPlatform[r.platform] = n;
  }
  const online = await db
    .selectFrom('workers')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('revoked_at', 'is', null)
    .where('last_seen_at', '>=', new Date(Date.now() - onlineWithinMs).toISOString())
    .executeTakeFirstOrThrow();
  return { buildsByStatus, queuedByPlatform, workersOnline: Number(online.n) };
}
