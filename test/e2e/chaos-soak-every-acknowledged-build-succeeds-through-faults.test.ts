/**
 * The standing chaos soak (short form, test/support/chaos.ts): a controller and 3 workers, 60
 * builds with unique markers, 8 faults — kill -9 and SIGSTOP of the controller, kill -9 and
 * SIGTERM of workers, each restarted — from a fixed seed (BUILDMESH_SOAK_SEED picks another).
 * Every acknowledged build succeeds with its markers once in its final attempt, its artifact
 * verifies, no build has an attempt the faults do not explain, and nobody saw a 5xx.
 * `npm run soak` runs the long form.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatChaos, removeOutput, runChaos, SHORT_SOAK } from '../support/chaos.js';

void test('chaos soak: every acknowledged build succeeds through controller and worker faults', { timeout: 10 * 60_000 }, async (t) => {
  const seed = Number(process.env.BUILDMESH_SOAK_SEED ?? 19);
  const result = await runChaos({ ...SHORT_SOAK, seed }, t);
  t.diagnostic(formatChaos(result));
  assert.deepEqual(result.violations, [], formatChaos(result));
  assert.equal(result.acknowledged, SHORT_SOAK.builds);
  assert.equal(result.succeeded, SHORT_SOAK.builds);
  assert.equal(result.timeline.length, SHORT_SOAK.faults);
  removeOutput(result);
});
