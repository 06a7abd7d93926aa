import type { Kysely } from 'kysely';
import { isoAfter } from '../rows.js';
import type { Database } from '../schema.js';
import type { SweepResult } from '../store.js';
import { emitBuildEvent } from './webhook-events.js';

const BATCH = 500;

/**
 * The scheduler's periodic pass, idempotent and safe on several replicas (every
 * change is guarded by the state it expects):
 * - a running attempt whose lease lapsed is `lost`; its build is requeued while
 *   attempts remain (an infrastructure failure is not the build's fault), else failed;
 * - a running attempt past its deadline times its build out; the attempt stays
 *   running so the next heartbeat tells the worker to stop.
 */
export async function sweep(db: Kysely<Database>, now: Date): Promise<SweepResult> {
  const at = now.toISOString();
  const result: SweepResult = { requeued: [], failed: [], timedOut: [] };

  const lapsed = await db
    .selectFrom('attempts')
    .select(['id', 'build_id'])
    .where('status', '=', 'running')
    .where('lease_expires_at', '<', at)
    .limit(BATCH)
    .execute();
  for (const a of lapsed) {
    await db.transaction().execute(async (trx) => {
      const ended = await trx
        .updateTable('attempts')
        .set({ status: 'lost', finished_at: at, error_code: 'LEASE_EXPIRED', error_message: 'the worker stopped renewing its lease' })
        .where('id', '=', a.id)
        .where('status', '=', 'running')
        .where('lease_expires_at', '<', at)
        .executeTakeFirst();
      if (Number(ended.numUpdatedRows) !== 1) return;
      const build = await trx.selectFrom('builds').select(['status', 'attempt_count', 'max_attempts']).where('id', '=', a.build_id).executeTakeFirstOrThrow();
      if (build.status !== 'running') return; // canceled or timed out meanwhile: it stays so
      if (build.attempt_count < build.max_attempts) {
        await trx.updateTable('builds').set({ status: 'queued', queued_at: at }).where('id', '=', a.build_id).where('status', '=', 'running').execute();
        await emitBuildEvent(trx, a.build_id, 'build.queued');
        result.requeued.push(a.build_id);
      } else {
        await trx
          .updateTable('builds')
          .set({
            status: 'failed',
            finished_at: at,
            error_code: 'LEASE_EXPIRED',
            error_message: `the worker stopped reporting on attempt ${build.attempt_count} of ${build.max_attempts}`,
            error_phase: null,
          })
          .where('id', '=', a.build_id)
          .where('status', '=', 'running')
          .execute();
        await emitBuildEvent(trx, a.build_id, 'build.failed');
        result.failed.push(a.build_id);
      }
    });
  }

  const overdue = await db
    .selectFrom('attempts')
    .innerJoin('builds', 'builds.id', 'attempts.build_id')
    .select(['attempts.build_id', 'builds.timeout_s'])
    .where('attempts.status', '=', 'running')
    .where('attempts.deadline_at', '<', at)
    .where('builds.status', '=', 'running')
    .limit(BATCH)
    .execute();
  for (const o of overdue) {
    // With its outbox rows in one transaction (webhook-events.ts).
    const timedOut = await db.transaction().execute(async (trx) => {
      const r = await trx
        .updateTable('builds')
        .set({
          status: 'timed_out',
          finished_at: at,
          error_code: 'BUILD_TIMED_OUT',
          error_message: `the build ran longer than its timeout of ${o.timeout_s} s`,
          error_phase: null,
        })
        .where('id', '=', o.build_id)
        .where('status', '=', 'running')
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return false;
      await emitBuildEvent(trx, o.build_id, 'build.timed_out');
      return true;
    });
    if (timedOut) result.timedOut.push(o.build_id);
  }
  return result;
}

export async function extendLiveLeases(db: Kysely<Database>, leaseTtlMs: number): Promise<number> {
  const fresh = isoAfter(leaseTtlMs);
  const r = await db
    .updateTable('attempts')
    .set({ lease_expires_at: fresh })
    .where('status', '=', 'running')
    .where('lease_expires_at', '<', fresh)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}
