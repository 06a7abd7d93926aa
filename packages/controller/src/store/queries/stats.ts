import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';

/** Rows folded per pass: a scrape after a long quiet spell folds in bounded passes, never all at once. */
const FOLD_ROWS = 10_000;

/**
 * The counts /metrics exposes, from the store on every scrape (no counters kept
 * in memory to drift). Triggers add a -1/+1 row to build_count_deltas on every
 * build status change (migration 0003); a scrape first folds the rows written
 * since the last one into one per (status, platform), in transactions of at most
 * FOLD_ROWS rows, then sums what is left: its cost follows the changes since the
 * last scrape, not the number of builds. DELETE … RETURNING removes exactly the
 * rows it read, so a delta committed meanwhile is kept for the next fold.
 */
export async function stats(db: Kysely<Database>, onlineWithinMs: number) {
  for (let folded = FOLD_ROWS; folded >= FOLD_ROWS; ) folded = await fold(db);
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

async function fold(db: Kysely<Database>): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const edge = await trx.selectFrom('build_count_deltas').select('id').orderBy('id').offset(FOLD_ROWS - 1).limit(1).executeTakeFirst();
    let oldest = trx.deleteFrom('build_count_deltas');
    if (edge) oldest = oldest.where('id', '<=', edge.id);
    const deleted = await oldest.returning(['status', 'platform', 'n']).execute();
    const sums = new Map<string, { status: string; platform: string; n: number }>();
    for (const d of deleted) {
      const key = `${d.status}\n${d.platform}`;
      const sum = sums.get(key) ?? { status: d.status, platform: d.platform, n: 0 };
      sum.n += Number(d.n);
      sums.set(key, sum);
    }
    const rows = [...sums.values()].filter((r) => r.n !== 0);
    if (rows.length) await trx.insertInto('build_count_deltas').values(rows).execute();
    return deleted.length;
  });
}
