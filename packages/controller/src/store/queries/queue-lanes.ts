/**
 * Queue lanes: one per (org, platform, required label set) a build was ever
 * queued with. Label matching happens on the few lanes, never on the many
 * builds: a lane's queued builds are one range of the `builds_lane` index in
 * claim order (priority desc, id), so its head and the builds ahead of a build
 * are read without touching builds of other lanes.
 */
import { sql } from 'kysely';
import type { Platform } from '@buildmesh/protocol';
import { labelsMatch, type Db } from '../rows.js';
import { prepared } from '../prepared.js';

export interface Lane {
  orgId: string;
  platform: Platform;
  labelKey: string;
  labels: Record<string, string>;
}

/** Records the build's lane before the build is inserted, so a queued build always has one. */
const laneExists = prepared(3, (db, orgId: string, platform: string, labelKey: string) =>
  db.selectFrom('queue_lanes').select('label_key').where('org_id', '=', orgId).where('platform', '=', platform).where('label_key', '=', labelKey),
);

export async function ensureLane(db: Db, orgId: string, platform: string, labelKey: string, labels: Record<string, string>): Promise<void> {
  const [known] = (await laneExists(db, orgId, platform, labelKey)).rows;
  if (known) return;
  await db
    .insertInto('queue_lanes')
    .values({ org_id: orgId, platform, label_key: labelKey, labels: JSON.stringify(labels) })
    .onConflict((oc) => oc.columns(['org_id', 'platform', 'label_key']).doNothing())
    .execute();
}

/**
 * A lane's labels, parsed once per distinct text: every claim reads the lanes it may serve (every org's, in the
 * shared pool). (A pure function of the text, memoised; nothing of the queue is kept.)
 */
const labelsByText = new Map<string, Record<string, string>>();
export function parsedLabels(text: string): Record<string, string> {
  let labels = labelsByText.get(text);
  if (!labels) {
    labels = Object.freeze(JSON.parse(text) as Record<string, string>);
    if (labelsByText.size >= 10_000) labelsByText.clear();
    labelsByText.set(text, labels);
  }
  return labels;
}

/** The org's lanes on these platforms whose labels `offered` satisfies (the shared pool's: fair-share.ts). */
export async function lanesMatching(db: Db, orgId: string, platforms: Platform[], offered: Record<string, string>): Promise<Lane[]> {
  const rows = await db.selectFrom('queue_lanes').select(['platform', 'label_key', 'labels']).where('org_id', '=', orgId).where('platform', 'in', platforms).execute();
  const lanes: Lane[] = [];
  for (const r of rows) {
    const labels = parsedLabels(r.labels);
    if (labelsMatch(labels, offered)) lanes.push({ orgId, platform: r.platform as Platform, labelKey: r.label_key, labels });
  }
  return lanes;
}

/**
 * `status = 'queued'` written into the SQL, not passed as a parameter: PostgreSQL's generic plan of a named
 * statement (what a connection runs after five executions) can use the partial index builds_queued_head
 * (migration 0025) only when the statement itself says 'queued'; with `status = $1` it read and sorted the
 * org's whole history through another index, per lane, per claim.
 */
const QUEUED = sql.lit('queued');

/** The lane's queued builds in claim order (priority desc, then oldest): one index range (builds_lane; builds_queued_head on PostgreSQL). */
export function laneQueue(db: Db, lane: { orgId: string; platform: Platform; labelKey: string }) {
  return db.selectFrom('builds').where('status', '=', QUEUED).where('org_id', '=', lane.orgId).where('platform', '=', lane.platform).where('label_key', '=', lane.labelKey);
}

/**
 * Every queue lane (`l`) joined with its head (`h`): the lane's first queued build in claim order, found by
 * a correlated probe of builds_lane. A lane with nothing queued drops out.
 */
export function lanesWithHeads(db: Db) {
  return db.selectFrom('queue_lanes as l').innerJoin('builds as h', (join) =>
    join.on((eb) =>
      eb(
        'h.id',
        '=',
        eb
          .selectFrom('builds as b')
          .select('b.id')
          .where('b.status', '=', QUEUED)
          .whereRef('b.org_id', '=', 'l.org_id')
          .whereRef('b.platform', '=', 'l.platform')
          .whereRef('b.label_key', '=', 'l.label_key')
          .orderBy('b.priority', 'desc')
          .orderBy('b.id', 'asc')
          .limit(1),
      ),
    ),
  );
}
