/**
 * Tests that need a working bubblewrap: `const bwrap = await bwrapSkipper()`, then
 * `test(name, { skip: bwrap.skip() }, …)` (`bwrap.runs` says whether they will run) and `new BwrapExecutor({ bwrapPath: TEST_BWRAP_PATH, … })`.
 * Without bwrap they skip with the probe's reason — except under CI (`CI` set), where they run
 * and fail. Every skip is recorded in the file scripts/run-tests.mjs names in
 * BUILDMESH_TEST_SKIP_LOG, which prints one summary line with the install command at the end.
 * BUILDMESH_TEST_BWRAP points the tests at another bwrap (e.g. a missing one, to check the skips).
 */
import { appendFileSync } from 'node:fs';
import { DEFAULT_BWRAP_PATH } from '../../packages/worker/src/sandbox/bwrap.js';
import { probeBwrap } from '../../packages/worker/src/sandbox/select.js';

export const TEST_BWRAP_PATH = process.env.BUILDMESH_TEST_BWRAP || DEFAULT_BWRAP_PATH;

export interface BwrapSkipper {
  /** Whether bwrap tests run here (bwrap works, or CI, where they must fail rather than skip). */
  readonly runs: boolean;
  /** A test's `skip` value; records the skip for the summary. */
  skip(): string | false;
}

/** Probes once (the same probe the worker runs at start). */
export async function bwrapSkipper(): Promise<BwrapSkipper> {
  const probe = process.platform === 'linux' ? await probeBwrap(TEST_BWRAP_PATH) : { ok: false, detail: `not Linux (${process.platform})` };
  const runs = probe.ok || Boolean(process.env.CI);
  return {
    runs,
    skip() {
      if (runs) return false;
      recordSkip('bubblewrap');
      return `bubblewrap unusable here: ${probe.detail}`;
    },
  };
}

/** One line per skipped test, for the summary printed by scripts/run-tests.mjs. */
export function recordSkip(what: string): void {
  const log = process.env.BUILDMESH_TEST_SKIP_LOG;
  if (log) appendFileSync(log, `${what}\n`);
}
