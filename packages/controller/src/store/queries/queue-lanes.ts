/**
 * Queue lanes: one per (org, platform, required label set) a build was ever
 * queued with. Label matching happens on the few lanes, never on the many
 * builds: a lane's queued builds are one range of the `builds_lane` index in
 * claim order (priority desc, id), so its head and the builds ahead of a build
 * are read without touching builds of other lanes.
 */
import type { Platform } from '@buildmesh/protocol';
import { labelsMatch, type Db } from '../rows.js';

export interface Lane {
  /** null: the lane's platform and label set in every org (the shared pool's view). */
  orgId: string | null;
  platform: Platform;
  labelKey: string;
  labels: Record<string, string>;
}

/** Records the build's lane before the build is inserted, so a queued build always has one. */
export async function ensureLane(db: Db, orgId: string, platform: string, labelKey: string, labels: Record<string, string>): Promise<void> {
  const known = await db
    .selectFrom('queue_lanes')
    .select('label_key')
    .where('org_id', '=', orgId)
    .where('platform', '=', platform)
    .where('label_key', '=', labelKey)
    .executeTakeFirst();
  if (known) return;
  await db
    .insertInto('queue_lanes')
    .values({ org_id: orgId, platform, label_key: labelKey, labels: JSON.stringify(labels) })
    .onConflict((oc) => oc.columns(['org_id', 'platform', 'label_key']).doNothing())
    .execute();
}

/**
 * The lanes on these platforms whose labels `offered` satisfies: of one org, or with orgId
 * null (the shared pool) one per platform and label set, standing for that lane in every org.
 */
export async function lanesMatching(db: Db, orgId: string | null, platforms: Platform[], offered: Record<string, string>): Promise<Lane[]> {
  let q = db.selectFrom('queue_lanes').select(['org_id', 'platform', 'label_key', 'labels']).where('platform', 'in', platforms);
  if (orgId !== null) q = q.where('org_id', '=', orgId);
  const lanes = new Map<string, Lane>();
  for (const r of await q.execute()) {
    const key = `${r.platform}\n${r.label_key}`;
    if (lanes.has(key)) continue;
    const labels = JSON.parse(r.labels) as Record<string, string>;
    if (labelsMatch(labels, offered)) lanes.set(key, { orgId, platform: r.platform as Platform, labelKey: r.label_key, labels });
  }
  return [...lanes.values()];
}

/**
 * The lane's queued builds in claim order (priority desc, then oldest): one index range
 * (builds_lane). With orgId null, the same platform and label set in every org (builds_shared_lane).
 */
export function laneQueue(db: Db, lane: { orgId: string | null; platform: Platform; labelKey: string }) {
  let q = db.selectFrom('builds').where('status', '=', 'queued');
  if (lane.orgId !== null) q = q.where('org_id', '=', lane.orgId);
  return q.where('platform', '=', lane.platform).where('label_key', '=', lane.labelKey);
}
