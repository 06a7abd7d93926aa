/**
 * Workers, from both sides: users list and remove them; workers enroll with an
 * enrollment token, say hello with their capabilities, and claim jobs with a
 * long-poll answered the moment a matching build is queued.
 */
import { Type } from 'typebox';
import {
  ApiError,
  BuildJob,
  Capabilities,
  ClaimRequest,
  EnrollRequest,
  EnrollResponse,
  HelloResponse,
  Id,
  Ok,
  WorkerList,
  type BuildJob as BuildJobT,
} from '@buildmesh/protocol';
import type { App } from '../http/app.js';
import type { ControllerContext } from '../context.js';
import { audit } from '../audit/record.js';
import { enrollmentOf, userOf, workerOf } from '../auth/roles.js';
import { mintCredential } from '../auth/tokens.js';
import { requireSandboxForPool } from '../auth/sandbox-policy.js';
import { MAX_CLAIM_WAIT_MS } from '../config.js';
import { newId } from '../ids.js';
import type { ClaimedJob } from '../store/store.js';

const WorkerParams = Type.Object({ id: Id('wrk') });

function toJob(ctx: ControllerContext, claimed: ClaimedJob): BuildJobT {
  const { build, attempt } = claimed;
  return {
    attempt: { id: attempt.id, number: attempt.number, leaseExpiresAt: attempt.leaseExpiresAt },
    build: {
      id: build.id,
      // claim.ts adds the build's org (the Build shape the API shows has none).
      orgId: (build as { orgId?: string }).orgId,
      project: build.project,
      platform: build.platform,
      profileName: build.profileName,
      profile: build.profile,
      env: build.env,
      timeoutSeconds: build.timeoutSeconds,
      source: build.source,
      hasCredentials: build.hasCredentials,
      message: build.message,
      gitCommit: build.gitCommit,
      submittedBy: build.submittedBy ?? null,
      ...(build.appDir ? { appDir: build.appDir } : {}),
    },
    timing: ctx.timing,
  };
}

export function registerWorkerRoutes(app: App, ctx: ControllerContext): void {
  app.get('/v1/workers', { config: { access: 'read' }, schema: { tags: ['workers'], response: { 200: WorkerList } } }, async (request) => {
    return { workers: await ctx.store.listWorkersForOrg(userOf(request).orgId, ctx.onlineWithinMs) };
  });

  app.delete(
    '/v1/workers/:id',
    { config: { access: 'admin' }, schema: { tags: ['workers'], params: WorkerParams, response: { 200: Ok } } },
    async (request) => {
      const auth = userOf(request);
      if (!(await ctx.store.revokeWorker(auth.orgId, request.params.id, auth.instanceAdmin))) throw new ApiError('NOT_FOUND', 'no such worker');
      ctx.waiters.dropWorker(request.params.id);
      const revoked = await ctx.store.findWorker(request.params.id);
      await audit(ctx, request, { action: 'worker.revoke', orgId: revoked?.orgId ?? null, target: { type: 'worker', id: request.params.id }, details: { name: revoked?.name ?? null } });
      return { ok: true as const };
    },
  );

  app.post(
    '/v1/workers/enroll',
    { config: { access: 'enrollment', body: 'json' }, schema: { tags: ['worker protocol'], body: EnrollRequest, response: { 201: EnrollResponse } } },
    async (request, reply) => {
      const enrollment = enrollmentOf(request);
      requireSandboxForPool(enrollment.pool, request.body.executor);
      const id = newId('wrk');
      const { token, secretHash } = mintCredential('w', id);
      await ctx.store.insertWorker({
        id,
        orgId: enrollment.pool === 'shared' ? null : enrollment.orgId,
        pool: enrollment.pool,
        capabilities: request.body,
        secretHash,
        enrollmentTokenId: enrollment.id,
      });
      await audit(ctx, request, {
        action: 'worker.enroll',
        orgId: enrollment.pool === 'shared' ? null : enrollment.orgId,
        target: { type: 'worker', id },
        details: { name: request.body.name, pool: enrollment.pool, platforms: request.body.platforms },
      });
      return reply.code(201).send({ workerId: id, credential: token, timing: ctx.timing });
    },
  );

  app.put(
    '/v1/worker',
    { config: { access: 'worker', body: 'json' }, schema: { tags: ['worker protocol'], body: Capabilities, response: { 200: HelloResponse } } },
    async (request) => {
      const worker = workerOf(request);
      // Recorded even when refused: a shared worker that lost its sandbox must not claim with a stale `bwrap`.
      await ctx.store.updateWorkerCapabilities(worker.id, request.body);
      requireSandboxForPool(worker.pool, request.body.executor);
      await ctx.store.touchWorker(worker.id);
      return { workerId: worker.id, timing: ctx.timing };
    },
  );

  app.post(
    '/v1/worker/claim',
    {
      config: { access: 'worker', body: 'json' },
      schema: {
        tags: ['worker protocol'],
        body: ClaimRequest,
        response: { 200: BuildJob, 204: Type.Null() },
        description: 'Long-poll: 200 with a job the moment one matches, 204 when none did within waitMs.',
      },
    },
    async (request, reply) => {
      const worker = workerOf(request);
      // Defence in depth: a shared worker that never reported a sandbox gets no build at all.
      requireSandboxForPool(worker.pool, worker.executor);
      const waitMs = Math.min(request.body?.waitMs ?? ctx.options.claimWaitMs, MAX_CLAIM_WAIT_MS);
      const claimant = {
        workerId: worker.id,
        orgId: worker.pool === 'shared' ? null : worker.orgId,
        platforms: worker.platforms,
        labels: worker.labels,
        concurrency: worker.concurrency,
        leaseTtlMs: ctx.options.leaseTtlMs,
      };
      const claimed = await ctx.waiters.wait(claimant, waitMs, (abandon) => reply.raw.once('close', abandon));
      if (!claimed) return reply.code(204).send(null);
      // queued → running: log followers show the new status at once.
      ctx.wakeups.buildChanged(claimed.build.id);
      ctx.metrics.observeClaim(claimed.build.queuedAt);
      return reply.code(200).send(toJob(ctx, claimed));
    },
  );
}
