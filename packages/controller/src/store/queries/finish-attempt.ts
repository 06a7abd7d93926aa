import type { BuildStatus, PhaseSummary } from '@buildmesh/protocol';
import type { Static } from 'typebox';
import { isPostgres, nowIso, type Db } from '../rows.js';
import type { FinishOutcome } from '../store.js';
import { requireLiveAttempt } from './attempt-for-worker.js';
import { emitBuildEvent, inTransaction } from './webhook-events.js';
import { recordFinish } from './build-stats.js';
import { finishRunningBuild } from './finish-running-pg.js';

export interface FinishResult {
  buildStatus: BuildStatus;
  buildId: string;
  /** Set when the attempt was ended but its reported result was refused (the build had been canceled or timed out). */
  refused?: string;
}

/**
 * Ends an attempt and decides the build. Only the attempt holding a live lease
 * may finish (LEASE_LOST otherwise). A worker that hands a build back (outcome
 * canceled without a user cancel, e.g. on shutdown) requeues it while attempts remain.
 */
export async function finishAttempt(
  db: Db,
  workerId: string,
  attemptId: string,
  outcome: FinishOutcome,
  error: { code: string; message: string; phase?: string } | null,
  phases: Static<typeof PhaseSummary>[] = [],
): Promise<FinishResult> {
  // PostgreSQL, a running build's own result and no webhook to tell: one statement (finish-running-pg.ts).
  if (isPostgres(db) && !db.isTransaction && outcome !== 'canceled') {
    const buildId = await finishRunningBuild(db, workerId, attemptId, outcome, finishError(outcome, error), phases);
    if (buildId !== undefined) return { buildStatus: outcome, buildId };
  }
  return inTransaction(db, async (trx) => {
    const result = await decide(trx, workerId, attemptId, outcome, error);
    // The reported phases and the duration histograms, in the same transaction (build-stats.ts).
    const ended = result.refused === undefined && result.buildStatus !== 'queued' && result.buildStatus !== 'running' ? result.buildStatus : null;
    await recordFinish(trx, attemptId, result.buildId, phases, ended);
    return result;
  });
}

/** The error a result is recorded with: none for a success, the worker's, else a generic one. */
function finishError(outcome: 'succeeded' | 'failed' | 'timed_out', error: { code: string; message: string; phase?: string } | null) {
  return outcome === 'succeeded' ? null : (error ?? { code: outcome === 'timed_out' ? 'BUILD_TIMED_OUT' : 'UNKNOWN_ERROR', message: `the build ${outcome === 'timed_out' ? 'timed out' : 'failed'}` });
}

async function decide(
  trx: Db,
  workerId: string,
  attemptId: string,
  outcome: FinishOutcome,
  error: { code: string; message: string; phase?: string } | null,
): Promise<FinishResult> {
  const attempt = await requireLiveAttempt(trx, workerId, attemptId);
  const build = await trx.selectFrom('builds').select(['status', 'attempt_count', 'max_attempts']).where('id', '=', attempt.buildId).executeTakeFirstOrThrow();
  const now = nowIso();
  const endAttempt = (status: string, err = error) =>
    trx
      .updateTable('attempts')
      .set({ status, finished_at: now, error_code: err?.code ?? null, error_message: err?.message ?? null, error_phase: err?.phase ?? null })
      .where('id', '=', attemptId)
      .execute();

  if (build.status !== 'running') {
    // The user canceled, or the sweeper timed the build out, while it ran: the attempt ends the same way.
    const ended = build.status === 'canceled' || build.status === 'timed_out' ? build.status : 'lost';
    await endAttempt(ended);
    const accepted = outcome === 'canceled' || outcome === 'timed_out';
    return {
      buildStatus: build.status as BuildStatus,
      buildId: attempt.buildId,
      ...(accepted ? {} : { refused: `the build is already ${build.status}; the ${outcome} result was not recorded` }),
    };
  }

  if (outcome === 'canceled') {
    // Handed back by the worker (it is shutting down): another worker may take it.
    await endAttempt('canceled', error ?? { code: 'UNKNOWN_ERROR', message: 'the worker handed the build back' });
    const retry = build.attempt_count < build.max_attempts;
    const status = retry ? 'queued' : 'failed';
    await trx
      .updateTable('builds')
      .set(
        retry
          ? { status, queued_at: now }
          : { status, finished_at: now, error_code: 'UNKNOWN_ERROR', error_message: 'the worker handed the build back and no attempts were left', error_phase: null },
      )
      .where('id', '=', attempt.buildId)
      .execute();
    await emitBuildEvent(trx, attempt.buildId, retry ? 'build.queued' : 'build.failed');
    return { buildStatus: status, buildId: attempt.buildId };
  }

  const err = finishError(outcome, error);
  await endAttempt(outcome, err);
  await trx
    .updateTable('builds')
    .set({ status: outcome, finished_at: now, error_code: err?.code ?? null, error_message: err?.message ?? null, error_phase: err?.phase ?? null })
    .where('id', '=', attempt.buildId)
    .execute();
  await emitBuildEvent(trx, attempt.buildId, `build.${outcome}`);
  return { buildStatus: outcome, buildId: attempt.buildId };
}
