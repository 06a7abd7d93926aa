import type { Platform } from '@buildmesh/protocol';
import type { Db } from '../rows.js';
import type { QueuedBuildHint } from '../store.js';

/**
 * The first queued builds in claim order, for the periodic re-check that offers
 * them to parked claims (a lost LISTEN/NOTIFY wake-up then costs at most one
 * re-check interval). Reads the claim-order index only up to `limit` rows.
 */
export async function queuedHints(db: Db, limit: number): Promise<QueuedBuildHint[]> {
  const rows = await db
    .selectFrom('builds')
    .select(['id', 'org_id', 'platform', 'labels'])
    .where('status', '=', 'queued')
    .orderBy('priority', 'desc')
    .orderBy('id', 'asc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ buildId: r.id, orgId: r.org_id, platform: r.platform as Platform, labels: JSON.parse(r.labels) as Record<string, string> }));
}
