import type { Platform } from '@buildmesh/protocol';
import { labelsMatch, type Db } from '../rows.js';
import { prepared } from '../prepared.js';
import { lanesWithHeads, parsedLabels, type Lane } from './queue-lanes.js';

/** Limits that apply to every org (config: BUILDMESH_ORG_MAX_QUEUED, BUILDMESH_ORG_MAX_SHARED_RUNNING); 0 = none. */
export interface OrgLimits {
  maxQueued: number;
  maxSharedRunning: number;
}

export const NO_LIMITS: OrgLimits = { maxQueued: 0, maxSharedRunning: 0 };

/** The shared pool's lanes one per org (fair share compares the orgs' heads), on these platforms, that `offered` satisfies. */
/** Every org's lanes of one platform, read by every shared-pool claim: prepared. */
const lanesOfPlatform = prepared(1, (db, platform: string) => db.selectFrom('queue_lanes').select(['org_id', 'platform', 'label_key', 'labels']).where('platform', '=', platform));

export async function sharedLanesPerOrg(db: Db, platforms: Platform[], offered: Record<string, string>): Promise<Lane[]> {
  const rows = [];
  for (const platform of platforms) rows.push(...(await lanesOfPlatform(db, platform)).rows);
  const lanes: Lane[] = [];
  for (const r of rows) {
    const labels = parsedLabels(r.labels);
    if (labelsMatch(labels, offered)) lanes.push({ orgId: r.org_id, platform: r.platform as Platform, labelKey: r.label_key, labels });
  }
  return lanes;
}

/** A lane's head as the fair order reads it: its org, labels, build and that org's running count. */
export interface SharedHead {
  orgId: string;
  labels: Record<string, string>;
  id: string;
  priority: number;
  running: number;
}

/**
 * SQLite: every org's lane heads of one platform in one statement, each with its org's running count
 * (prepared; a correlated probe of builds_lane per lane and of attempts_running_org per org). The
 * shared-pool claim on SQLite reads this instead of the lanes, each head and each count apart
 * (PostgreSQL locks each head SKIP LOCKED, which a join cannot do: it keeps the probes).
 */
const sharedHeadsOfPlatform = prepared(1, (db, platform: string) =>
  lanesWithHeads(db)
    .select(['l.org_id', 'l.labels', 'h.id', 'h.priority'])
    .select((eb) =>
      eb.selectFrom('attempts as a').select((e) => e.fn.countAll<number>().as('n')).where('a.status', '=', 'running').whereRef('a.org_id', '=', 'l.org_id').as('running'),
    )
    .where('l.platform', '=', platform),
);

export async function sharedHeads(db: Db, platforms: Platform[], offered: Record<string, string>): Promise<SharedHead[]> {
  const heads: SharedHead[] = [];
  for (const platform of platforms) {
    for (const r of (await sharedHeadsOfPlatform(db, platform)).rows) {
      const labels = parsedLabels(r.labels);
      if (labelsMatch(labels, offered)) heads.push({ orgId: r.org_id, labels, id: r.id, priority: r.priority, running: Number(r.running ?? 0) });
    }
  }
  return heads;
}

/** Running builds of these orgs (in any pool): the fair-share order's second key. */
export async function runningByOrg(db: Db, orgIds: string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  // One prepared count per org (the tied orgs are few): an index range each (attempts_running_org).
  for (const orgId of orgIds) counts.set(orgId, Number((await runningOfOrg(db, orgId)).rows[0]!.n));
  return counts;
}

const runningOfOrg = prepared(1, (db, orgId: string) =>
  db.selectFrom('attempts').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'running').where('org_id', '=', orgId),
);

/** Orgs running `limit` or more builds on shared-pool workers (bounded by the shared pool's slots). */
export async function orgsAtSharedLimit(db: Db, limit: number): Promise<Set<string>> {
  const rows = await db
    .selectFrom('attempts')
    .innerJoin('workers', 'workers.id', 'attempts.worker_id')
    .select(['attempts.org_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('attempts.status', '=', 'running')
    .where('workers.pool', '=', 'shared')
    .groupBy('attempts.org_id')
    .execute();
  return new Set(rows.filter((r) => Number(r.n) >= limit).map((r) => r.org_id));
}

/** Builds the org runs on shared-pool workers now. */
export async function sharedRunningOf(db: Db, orgId: string): Promise<number> {
  const r = await db
    .selectFrom('attempts')
    .innerJoin('workers', 'workers.id', 'attempts.worker_id')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('attempts.status', '=', 'running')
    .where('attempts.org_id', '=', orgId)
    .where('workers.pool', '=', 'shared')
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** How many builds the org has queued, counting no further than `cap` (a bounded index range). */
export async function queuedAtLeast(db: Db, orgId: string, cap: number): Promise<number> {
  const r = await db
    .selectFrom((eb) => eb.selectFrom('builds').select('id').where('org_id', '=', orgId).where('status', '=', 'queued').limit(cap).as('q'))
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}
