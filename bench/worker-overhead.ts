/**
 * worker_overhead_ms: claim → first step started, for a build whose source
 * holds 1 MB of random bytes, on one real worker with its default sandbox.
 * Per build: the first custom step's START_PHASE timestamp (worker clock)
 * − attempt.startedAt (set by the controller when the claim took the build;
 * same machine, same clock). Median over the builds.
 * worker_overhead_first_ms: the same for the first build a fresh worker
 * process runs (code loaded and compiled on first use shows here).
 * worker_unpack_ms: the PREPARE_PROJECT phase's own duration within it
 * (download the source, check its sha256, unpack, read the build plan).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeFixtureProject, readAllLogs, submitBuild } from '../test/helpers/builds.js';
import { median } from './support/measure.js';
import { expectSucceeded, phaseEnd, phaseStart, withMesh } from './support/mesh.js';

export async function benchWorkerOverhead(builds = 10): Promise<Record<string, number>> {
  return withMesh({}, async (mesh) => {
    const project = makeFixtureProject(mesh.scope, [{ id: 'FIRST', command: 'true' }]);
    writeFileSync(join(project, 'random.bin'), randomBytes(1024 * 1024));
    const overhead: number[] = [];
    const unpack: number[] = [];
    for (let i = 0; i < builds; i++) {
      const build = await submitBuild(mesh.admin, project);
      await expectSucceeded(mesh, build.id, 60_000);
      const attempt = (await mesh.admin.getBuild(build.id)).attempts?.[0];
      if (!attempt) throw new Error(`build ${build.id} has no attempt`);
      const log = await readAllLogs(mesh.admin, build.id);
      overhead.push(phaseStart(log, 'FIRST').t - Date.parse(attempt.startedAt));
      unpack.push(phaseEnd(log, 'PREPARE_PROJECT').durationMs ?? NaN);
    }
    return { worker_overhead_ms: median(overhead), worker_overhead_first_ms: overhead[0]!, worker_unpack_ms: median(unpack) };
  });
}
