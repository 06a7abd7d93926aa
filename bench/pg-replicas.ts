/**
 * The scale-out figures: two controller replicas on one PostgreSQL database behind
 * nginx (the documented config), started with the e2e helpers.
 * - pg_dispatch_p50_ms / pg_dispatch_p99_ms: submit acknowledged by replica A → the
 *   worker long-polling replica B has the job (LISTEN/NOTIFY).
 * - pg_submit_c20_per_s: tiny builds acknowledged per second, 20 in flight over both replicas, on the
 *   CLI's path (source uploaded once, JSON creations naming it) as submit_c20_per_s on SQLite;
 *   pg_submit_multipart_c20_per_s: the same with the one-request multipart submit.
 * - pg_claim_finish_per_s / pg_double_assignments: 200 racing workers, half on each replica.
 * - replica_failover_s: kill -9 of the replica holding a worker's long-poll (through nginx)
 *   → that worker has the next build, submitted through nginx right after the kill.
 */
import { createHash } from 'node:crypto';
import { BuildMeshClient } from '@buildmesh/protocol';
import { startReplicaSet, type ReplicaSet } from '../test/helpers/replicas.js';
import { Scope } from './support/mesh.js';
import { percentile, WARM_UP_OPERATIONS } from './support/measure.js';
import { benchSpec, streamOf, tinySource } from './support/sources.js';
import { claimAndFinishAll, submitFromTwentyLanes } from './support/claim-race.js';

const BENCH_TIMING = { heartbeatIntervalMs: 1000, leaseTtlMs: 30_000, sweepIntervalMs: 1000, claimWaitMs: 25_000 };

async function withReplicas<T>(run: (set: ReplicaSet) => Promise<T>): Promise<T> {
  const scope = new Scope();
  try {
    const set = await startReplicaSet(scope, { timing: BENCH_TIMING, env: { BUILDMESH_LOG_LEVEL: 'warn' } });
    return await run(set);
  } finally {
    await scope.close();
  }
}

/** Worker credentials, so each worker can be pinned to one replica (or the balancer). */
async function enrollCredentials(admin: BuildMeshClient, count: number): Promise<string[]> {
  const { secret } = await admin.createEnrollmentToken(`bench-${Date.now()}`);
  const enroller = admin.withToken(secret);
  const credentials: string[] = [];
  for (let i = 0; i < count; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, count - i) }, (_, j) => enroller.enroll({ name: `bench-${i + j}`, platforms: ['web'], labels: {}, concurrency: 1, version: 'bench' })),
    );
    credentials.push(...batch.map((e) => e.credential));
  }
  return credentials;
}

const on = (credential: string, url: string) => new BuildMeshClient({ url, token: credential, timeoutMs: 60_000 });

export async function benchPgDispatch(rounds = 200): Promise<Record<string, number>> {
  return withReplicas(async (set) => {
    const [a, b] = set.replicas as [ReplicaSet['replicas'][0], ReplicaSet['replicas'][0]];
    const [credential] = await enrollCredentials(set.admin, 1);
    const worker = on(credential!, b.url);
    const source = await tinySource();
    const samples: number[] = [];
    for (let i = 0; i < rounds + 10; i++) {
      let claimedAt = 0;
      const claim = worker.claim(20_000).then((job) => {
        claimedAt = performance.now();
        return job;
      });
      await new Promise((r) => setTimeout(r, 15)); // let the long-poll park on B
      await a.admin.createBuild(benchSpec(), streamOf(source));
      const ackAt = performance.now();
      const job = await claim;
      if (!job) throw new Error('the worker long-polling B got no job');
      if (i >= 10) samples.push(Math.max(0, claimedAt - ackAt));
      await worker.finish(job.attempt.id, { outcome: 'succeeded' });
    }
    return { pg_dispatch_p50_ms: percentile(samples, 50), pg_dispatch_p99_ms: percentile(samples, 99) };
  });
}

/** Builds acknowledged per second, 20 in flight, alternating between the two replicas. */
async function twentyInFlight(count: number, submit: (lane: number) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 20 }, async (_, lane) => {
      while (next++ < count) await submit(lane);
    }),
  );
  return count / ((performance.now() - t0) / 1000);
}

/**
 * pg_submit_c20_per_s on the CLI's path, as submit_c20_per_s on SQLite: the source uploaded once, then
 * small JSON creations that name it. pg_submit_multipart_c20_per_s: the one-request multipart submit
 * (the source streamed and hashed again each time), for comparison.
 */
export async function benchPgSubmit(count = 1000): Promise<Record<string, number>> {
  return withReplicas(async (set) => {
    const source = await tinySource();
    const ref = { sha256: createHash('sha256').update(source).digest('hex'), size: source.length };
    const admins = set.replicas.map((r) => r.admin);
    await admins[0]!.uploadBlob(ref, streamOf(source));
    const fromBlob = (lane: number) => admins[lane % 2]!.createBuildFromBlob({ spec: benchSpec(), source: ref });
    const multipart = (lane: number) => admins[lane % 2]!.createBuild(benchSpec(), streamOf(source));
    await twentyInFlight(WARM_UP_OPERATIONS, (lane) => (lane % 4 === 0 ? multipart(lane) : fromBlob(lane)));
    const c20 = await twentyInFlight(count, fromBlob);
    const multipartC20 = await twentyInFlight(count, multipart);
    return { pg_submit_c20_per_s: c20, pg_submit_multipart_c20_per_s: multipartC20 };
  });
}

export async function benchPgClaimFinish(builds = 2000, workers = 200): Promise<Record<string, number>> {
  return withReplicas(async (set) => {
    const source = await tinySource();
    const queue = () => submitFromTwentyLanes(builds, (lane) => set.replicas[lane % 2]!.admin.createBuild(benchSpec(), streamOf(source)));
    const clients = (await enrollCredentials(set.admin, workers)).map((c, i) => on(c, set.replicas[i % 2]!.url));
    // A first round warms the path up (WARM_UP_OPERATIONS); the second is measured.
    await queue();
    await claimAndFinishAll(clients, builds);
    await queue();
    const { perSecond, doubles } = await claimAndFinishAll(clients, builds);
    return { pg_claim_finish_per_s: perSecond, pg_double_assignments: doubles };
  });
}

/** Claim long-polls parked on a replica, from its /metrics. */
async function parkedClaims(url: string, token: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  return Number(/^buildmesh_claim_waiters (\S+)$/m.exec(text)?.[1] ?? 0);
}

export async function benchReplicaFailover(): Promise<Record<string, number>> {
  return withReplicas(async (set) => {
    const [credential] = await enrollCredentials(set.admin, 1);
    const worker = on(credential!, set.balancerUrl);
    const source = await tinySource();
    // The worker's loop as a worker runs it: claim through the balancer; on an error, try again shortly.
    let stopped = false;
    let gotAt = 0;
    const loop = (async () => {
      while (!stopped) {
        try {
          const job = await worker.claim(20_000);
          if (job) {
            gotAt = performance.now();
            return job;
          }
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      return null;
    })();
    let victim: ReplicaSet['replicas'][0] | undefined;
    for (let i = 0; i < 200 && !victim; i++) {
      for (const r of set.replicas) if ((await parkedClaims(r.url, set.adminToken)) > 0) victim = r;
      if (!victim) await new Promise((r) => setTimeout(r, 25));
    }
    if (!victim) throw new Error('the worker’s long-poll never parked');
    const killedAt = performance.now();
    await victim.crash();
    await set.admin.createBuild(benchSpec(), streamOf(source));
    const job = await loop;
    stopped = true;
    if (!job) throw new Error('the worker got no build after the failover');
    return { replica_failover_s: (gotAt - killedAt) / 1000 };
  });
}

export async function benchPgReplicas(): Promise<Record<string, number>> {
  return {
    ...(await benchPgDispatch()),
    ...(await benchPgSubmit()),
    ...(await benchPgClaimFinish()),
    ...(await benchReplicaFailover()),
  };
}
