/** claim_finish_per_s with 200 racing workers (after a first, unmeasured round), and double_assignments (must be 0). */
import { enrollWorkers, startController } from './support/processes.js';
import { benchSpec, streamOf, tinySource } from './support/sources.js';
import { claimAndFinishAll, submitFromTwentyLanes } from './support/claim-race.js';

export async function benchClaimFinish(builds = 2000, workers = 200): Promise<Record<string, number>> {
  const controller = await startController();
  try {
    const source = await tinySource();
    const queue = () => submitFromTwentyLanes(builds, () => controller.admin.createBuild(benchSpec(), streamOf(source)));
    const clients = await enrollWorkers(controller.admin, workers);
    // A first round warms the path up (WARM_UP_OPERATIONS); the second is measured.
    await queue();
    await claimAndFinishAll(clients, builds);
    await queue();
    const { perSecond, doubles } = await claimAndFinishAll(clients, builds);
    return { claim_finish_per_s: perSecond, double_assignments: doubles };
  } finally {
    await controller.stop();
  }
}
