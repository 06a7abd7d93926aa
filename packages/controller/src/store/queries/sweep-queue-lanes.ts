/**
 * Queue lanes no build waits in or runs from are removed, and a queued build that lost its lane to a racing
 * removal gets it back. Every shared-pool claim reads every lane of its platform, of every org: kept for
 * every label set ever submitted, an org submitting and canceling builds with fresh labels grew what every
 * org's claims read, without bound. A lane with a running build stays (a lapsed lease or an undone claim
 * queues the build again). A submit commits its lane and its build together, but on PostgreSQL a removal
 * whose snapshot predates the build can still take the lane: the re-add below (builds of the last
 * RECENT_MS, an id range) gives it back within a sweep. docs/operations.md.
 */
import type { Kysely } from 'kysely';
import { idAtTime } from '../../ids.js';
import type { Database } from '../schema.js';

/** How far back a queued build is checked for its lane (far longer than any submit takes). */
const RECENT_MS = 10 * 60 * 1000;

export async function sweepQueueLanes(db: Kysely<Database>, now: number): Promise<{ removed: number; restored: number }> {
  const removed = await db
    .deleteFrom('queue_lanes as l')
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('builds as b')
            .select('b.id')
            .where('b.status', 'in', ['queued', 'running'])
            .whereRef('b.org_id', '=', 'l.org_id')
            .whereRef('b.platform', '=', 'l.platform')
            .whereRef('b.label_key', '=', 'l.label_key'),
        ),
      ),
    )
    .executeTakeFirst();
  const restored = await db
    .insertInto('queue_lanes')
    .columns(['org_id', 'platform', 'label_key', 'labels'])
    .expression((eb) =>
      eb
        .selectFrom('builds as b')
        .select(['b.org_id', 'b.platform', 'b.label_key', 'b.labels'])
        .where('b.id', '>', idAtTime('bld', now - RECENT_MS))
        .where('b.status', '=', 'queued')
        .where((w) =>
          w.not(w.exists(w.selectFrom('queue_lanes as q').select('q.org_id').whereRef('q.org_id', '=', 'b.org_id').whereRef('q.platform', '=', 'b.platform').whereRef('q.label_key', '=', 'b.label_key'))),
        ),
    )
    .onConflict((oc) => oc.columns(['org_id', 'platform', 'label_key']).doNothing())
    .executeTakeFirst();
  return { removed: Number(removed.numDeletedRows), restored: Number(restored.numInsertedOrUpdatedRows ?? 0) };
}
