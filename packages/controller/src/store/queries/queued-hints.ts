import type { Platform } from '@buildmesh/protocol';
import type { Db } from '../rows.js';
import type { QueuedBuildHint } from '../store.js';

/**
 * The head of every queue lane (org, platform, label set) that has a queued build, for the periodic
 * re-check that offers them to parked claims: a lost LISTEN/NOTIFY wake-up then costs at most one
 * re-check interval, whatever backlog no online worker can take sits ahead of it in other lanes.
 * One statement: a correlated probe of builds_lane per lane, at most `limit` lanes.
 */
export async function queuedHints(db: Db, limit: number): Promise<QueuedBuildHint[]> {
  const rows = await db
    .selectFrom('queue_lanes as l')
    .innerJoin('builds as h', (join) =>
      join.on((eb) =>
        eb(
          'h.id',
          '=',
          eb
            .selectFrom('builds as b')
            .select('b.id')
            .where('b.status', '=', 'queued')
            .whereRef('b.org_id', '=', 'l.org_id')
            .whereRef('b.platform', '=', 'l.platform')
            .whereRef('b.label_key', '=', 'l.label_key')
            .orderBy('b.priority', 'desc')
            .orderBy('b.id', 'asc')
            .limit(1),
        ),
      ),
    )
    .select(['h.id', 'l.org_id', 'l.platform', 'l.labels'])
    .orderBy('h.priority', 'desc')
    .orderBy('h.id', 'asc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ buildId: r.id, orgId: r.org_id, platform: r.platform as Platform, labels: JSON.parse(r.labels) as Record<string, string> }));
}
