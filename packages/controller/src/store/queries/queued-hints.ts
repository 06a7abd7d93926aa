import type { Platform } from '@buildmesh/protocol';
import type { Db } from '../rows.js';
import type { QueuedBuildHint } from '../store.js';
import { lanesWithHeads } from './queue-lanes.js';

/**
 * The head of every queue lane (org, platform, label set) that has a queued build, for the periodic
 * re-check that offers them to parked claims: a lost LISTEN/NOTIFY wake-up then costs at most one
 * re-check interval, whatever backlog no online worker can take sits ahead of it in other lanes.
 * One statement: a correlated probe of builds_lane per lane, at most `limit` lanes.
 */
export async function queuedHints(db: Db, limit: number): Promise<QueuedBuildHint[]> {
  const rows = await lanesWithHeads(db)
    .select(['h.id', 'l.org_id', 'l.platform', 'l.labels'])
    .orderBy('h.priority', 'desc')
    .orderBy('h.id', 'asc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ buildId: r.id, orgId: r.org_id, platform: r.platform as Platform, labels: JSON.parse(r.labels) as Record<string, string> }));
}
