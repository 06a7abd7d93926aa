/**
 * The standing chaos soak on PostgreSQL (short form, test/support/chaos.ts): two controller
 * replicas behind nginx on a private PostgreSQL instance (restarting it touches no other test),
 * 3 workers talking to nginx, 48 builds with unique markers, 8 faults — kill -9 (1–5 s down) and
 * SIGSTOP of one replica at a time, two PostgreSQL restarts (a fast shutdown, then an immediate
 * one, i.e. a crash; each 2–4 s down), kill -9 and SIGTERM of workers — from a fixed seed
 * (BUILDMESH_SOAK_SEED picks another). Every acknowledged
 * build succeeds with its markers once in its final attempt, its artifact verifies, no attempt is
 * unexplained, no controller answered 5xx (but 503 DATABASE_UNAVAILABLE while PostgreSQL was down),
 * and no replica died on its own. `npm run soak -- --store postgres` runs the long form.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatChaos, removeOutput, runChaos, SHORT_PG_SOAK } from '../support/chaos.js';
import { privatePgSkip } from '../helpers/private-postgres.js';
import { nginxSkip } from '../helpers/replicas.js';

void test(
  'chaos soak on two PostgreSQL replicas: every acknowledged build succeeds through replica, PostgreSQL and worker faults',
  { skip: privatePgSkip || nginxSkip, timeout: 10 * 60_000 },
  async (t) => {
    const seed = Number(process.env.BUILDMESH_SOAK_SEED ?? 19);
    const result = await runChaos({ ...SHORT_PG_SOAK, seed }, t);
    t.diagnostic(formatChaos(result));
    assert.deepEqual(result.violations, [], formatChaos(result));
    assert.equal(result.acknowledged, SHORT_PG_SOAK.builds);
    assert.equal(result.succeeded, SHORT_PG_SOAK.builds);
    assert.equal(result.timeline.length, SHORT_PG_SOAK.faults);
    for (const kind of ['replica-kill', 'replica-stop', 'postgres-restart'] as const) {
      assert.ok(result.timeline.some((f) => f.kind === kind), `the timeline has a ${kind}`);
    }
    assert.ok(result.timeline.some((f) => f.kind === 'postgres-restart' && f.detail.startsWith('immediate')), 'PostgreSQL crashed once');
    removeOutput(result);
  },
);
