import type { Capabilities, WorkerInfo, WorkerPool } from '@buildmesh/protocol';
import { nowIso, toWorkerRecord, type Db } from '../rows.js';
import { prepared } from '../prepared.js';
import type { WorkerRecord } from '../store.js';

/** The columns a worker's (re)reported capabilities fill, at enrollment and at every hello. */
const capabilityColumns = (c: Capabilities) => ({
  name: c.name,
  platforms: JSON.stringify(c.platforms),
  labels: JSON.stringify(c.labels),
  concurrency: c.concurrency,
  version: c.version,
  toolchains: JSON.stringify(c.toolchains ?? {}),
  executor: c.executor ?? 'none',
});

export async function insertWorker(
  db: Db,
  w: { id: string; orgId: string | null; pool: WorkerPool; capabilities: Capabilities; secretHash: Buffer; enrollmentTokenId?: string | null },
): Promise<WorkerRecord> {
  const row = {
    id: w.id,
    org_id: w.orgId,
    pool: w.pool,
    ...capabilityColumns(w.capabilities),
    secret_hash: w.secretHash,
    created_at: nowIso(),
    last_seen_at: nowIso(),
    revoked_at: null,
    enrollment_token_id: w.enrollmentTokenId ?? null,
    presence: null,
  };
  await db.insertInto('workers').values(row).execute();
  return toWorkerRecord(row);
}

/** Every worker request's credential lookup: prepared (prepared.ts). */
const workerById = prepared(1, (db, id: string) => db.selectFrom('workers').selectAll().where('id', '=', id));

export async function findWorker(db: Db, id: string): Promise<WorkerRecord | undefined> {
  const [row] = (await workerById(db, id)).rows;
  return row && toWorkerRecord(row);
}

export async function updateWorkerCapabilities(db: Db, id: string, c: Capabilities): Promise<void> {
  await db
    .updateTable('workers')
    .set({ ...capabilityColumns(c), last_seen_at: nowIso() })
    .where('id', '=', id)
    .execute();
}

export async function touchWorker(db: Db, id: string): Promise<void> {
  await db.updateTable('workers').set({ last_seen_at: nowIso() }).where('id', '=', id).execute();
}

/** Workers that may take the org's builds: its own pool and the shared one. */
export function visibleWorkers(db: Db, orgId: string) {
  return db
    .selectFrom('workers')
    .selectAll()
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('org_id', '=', orgId), eb('pool', '=', 'shared')]));
}

export async function listWorkersForOrg(db: Db, orgId: string, onlineWithinMs: number): Promise<WorkerInfo[]> {
  const rows = await visibleWorkers(db, orgId).orderBy('name').execute();
  if (rows.length === 0) return [];
  const running = await db
    .selectFrom('attempts')
    .select(['worker_id', 'build_id', 'org_id'])
    .where('status', '=', 'running')
    .where(
      'worker_id',
      'in',
      rows.map((r) => r.id),
    )
    .execute();
  const onlineSince = new Date(Date.now() - onlineWithinMs).toISOString();
  return rows.map((r) => {
    const w = toWorkerRecord(r);
    const mine = running.filter((a) => a.worker_id === r.id);
    return {
      id: w.id,
      name: w.name,
      pool: w.pool,
      platforms: w.platforms,
      labels: w.labels,
      concurrency: w.concurrency,
      state: w.lastSeenAt !== null && w.lastSeenAt >= onlineSince ? 'online' : 'offline',
      // Another org's build on a shared worker is counted in busySlots, never named.
      currentBuilds: mine.filter((a) => a.org_id === orgId).map((a) => a.build_id),
      busySlots: mine.length,
      lastSeenAt: w.lastSeenAt,
      version: w.version,
      toolchains: w.toolchains,
    };
  });
}

export async function revokeWorker(db: Db, orgId: string, id: string, includeShared: boolean): Promise<boolean> {
  const result = await db
    .updateTable('workers')
    .set({ revoked_at: nowIso() })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .where((eb) => (includeShared ? eb.or([eb('org_id', '=', orgId), eb('pool', '=', 'shared')]) : eb('org_id', '=', orgId)))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Revokes every live worker the enrollment token enrolled; returns their ids. */
export async function revokeWorkersEnrolledBy(db: Db, enrollmentTokenId: string): Promise<string[]> {
  const rows = await db.selectFrom('workers').select('id').where('enrollment_token_id', '=', enrollmentTokenId).where('revoked_at', 'is', null).execute();
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  await db.updateTable('workers').set({ revoked_at: nowIso() }).where('id', 'in', ids).where('revoked_at', 'is', null).execute();
  return ids;
}
