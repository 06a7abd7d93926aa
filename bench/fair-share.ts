/**
 * fair_share_wait_s: org A floods 200 builds into a shared pool of 2 workers whose builds take 1 s each;
 * org B submits one build; the seconds until a worker claims it (target: at most one build duration).
 * claim_finish_fair_per_s / claim_finish_unfair_per_s / fair_claim_finish_ratio: the claim-finish
 * benchmark (2000 builds of 4 orgs, 200 racing workers) through the shared pool, which claims in fair
 * order, and through one org's own pool of the same size, which claims in priority-then-age order.
 * The two runs alternate three times each; the ratio is of their medians (one pair is too noisy to judge 10 %).
 */
import type { BuildMeshClient } from '@buildmesh/protocol';
import { median } from './support/measure.js';
import { startController } from './support/processes.js';
import { benchSpec, streamOf, tinySource } from './support/sources.js';

async function enrollShared(admin: BuildMeshClient, count: number, pool: 'shared' | 'org'): Promise<BuildMeshClient[]> {
  const { secret } = await admin.createEnrollmentToken(`bench-${pool}-${Date.now()}`, pool);
  const enroller = admin.withToken(secret);
  const clients: BuildMeshClient[] = [];
  for (let i = 0; i < count; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, count - i) }, (_, j) =>
        enroller.enroll({ name: `bench-${i + j}`, platforms: ['web'], labels: {}, concurrency: 1, version: 'bench', executor: 'bwrap' }),
      ),
    );
    clients.push(...batch.map((e) => admin.withToken(e.credential)));
  }
  return clients;
}

async function orgMember(admin: BuildMeshClient, name: string): Promise<BuildMeshClient> {
  const org = await admin.createOrg(name);
  return admin.withToken((await admin.createToken({ name: `${name}-member`, role: 'member', orgId: org.id })).secret);
}

async function fairShareWait(): Promise<number> {
  const controller = await startController();
  try {
    const a = await orgMember(controller.admin, 'flood');
    const b = await orgMember(controller.admin, 'other');
    const source = await tinySource();
    for (let i = 0; i < 200; i++) await a.createBuild(benchSpec({ message: `a${i}` }), streamOf(source));
    const workers = await enrollShared(controller.admin, 2, 'shared');
    let bId = '';
    let bClaimedAt = 0;
    let stop = false;
    const loops = workers.map(async (w, n) => {
      await new Promise((r) => setTimeout(r, n * 500)); // staggered, so a slot frees every half second
      while (!stop) {
        const job = await w.claim(1000);
        if (!job) continue;
        if (job.build.id === bId) {
          bClaimedAt = performance.now();
          stop = true;
        }
        await new Promise((r) => setTimeout(r, 1000)); // the build runs 1 s
        await w.finish(job.attempt.id, { outcome: 'succeeded' });
      }
    });
    await new Promise((r) => setTimeout(r, 3000)); // A holds both workers
    const submittedAt = performance.now();
    bId = (await b.createBuild(benchSpec({ message: 'b' }), streamOf(source))).id;
    await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 120_000))]);
    stop = true;
    if (!bClaimedAt) throw new Error("B's build was never claimed");
    return (bClaimedAt - submittedAt) / 1000;
  } finally {
    await controller.stop();
  }
}

async function claimFinish(pool: 'shared' | 'org', builds = 2000, workers = 200): Promise<number> {
  const controller = await startController();
  try {
    const orgs = await Promise.all(['o1', 'o2', 'o3', 'o4'].map((n) => orgMember(controller.admin, n)));
    const source = await tinySource();
    let next = 0;
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        while (next++ < builds) await orgs[i % 4]!.createBuild(benchSpec(), streamOf(source));
      }),
    );
    // Org pool: one org's 2000 builds would differ from 4 orgs' 500; the org pool serves its own org, so it gets them all.
    const admin = pool === 'org' ? orgs[0]! : controller.admin;
    if (pool === 'org') {
      // Re-submit the other orgs' share into org o1 so both runs claim the same number of builds.
      for (let i = 0; i < builds - Math.ceil(builds / 4); i++) await orgs[0]!.createBuild(benchSpec(), streamOf(source));
    }
    const clients = await enrollShared(pool === 'org' ? await orgAdminOf(controller.admin, admin) : controller.admin, workers, pool);
    const t0 = performance.now();
    let done = 0;
    await Promise.all(
      clients.map(async (client) => {
        for (;;) {
          const job = await client.claim(0);
          if (!job) return;
          await client.finish(job.attempt.id, { outcome: 'succeeded' });
          done++;
        }
      }),
    );
    return done / ((performance.now() - t0) / 1000);
  } finally {
    await controller.stop();
  }
}

/** An admin token of the member's org (org-pool enrollment tokens are created by org admins). */
async function orgAdminOf(instanceAdmin: BuildMeshClient, member: BuildMeshClient): Promise<BuildMeshClient> {
  const me = await member.json<{ org: { id: string } }>('GET', '/v1/me');
  return instanceAdmin.withToken((await instanceAdmin.createToken({ name: `admin-${me.org.id.slice(-6)}`, role: 'admin', orgId: me.org.id })).secret);
}

export async function benchFairShare(builds = 2000, workers = 200, rounds = 3): Promise<Record<string, number>> {
  const wait = await fairShareWait();
  const fairRuns: number[] = [];
  const unfairRuns: number[] = [];
  for (let i = 0; i < rounds; i++) {
    fairRuns.push(await claimFinish('shared', builds, workers));
    unfairRuns.push(await claimFinish('org', builds, workers));
  }
  const fair = median(fairRuns);
  const unfair = median(unfairRuns);
  return { fair_share_wait_s: wait, claim_finish_fair_per_s: fair, claim_finish_unfair_per_s: unfair, fair_claim_finish_ratio: fair / unfair };
}
