/**
 * The worker's side of one attempt. Everything here goes through the attempt the
 * calling worker holds: another worker's attempt is 404 (no existence leak), the
 * caller's own attempt whose lease has ended is 409 LEASE_LOST, and only a live
 * lease reads the source and the decrypted credentials (never once the build
 * was canceled or timed out) or writes logs, artifacts and the result.
 */
import { Type } from 'typebox';
import {
  ApiError,
  Artifact,
  ArtifactName,
  AttemptParams,
  AttemptSecrets,
  FinishRequest,
  FinishResponse,
  HeartbeatResponse,
  LOG_BATCH_MAX_BYTES,
  LogBatch,
  LogBatchAck,
  SHA256_HEADER,
  UploadArtifactQuery,
  ArtifactUploadRequest,
  BlobUploadTicket,
  CompleteArtifactUploadRequest,
  Id,
  type ArtifactKind,
  type CredentialsBundle,
  type IosAppInfo,
} from '@buildmesh/protocol';
import type { App } from '../http/app.js';
import type { ControllerContext } from '../context.js';
import { audit } from '../audit/record.js';
import { workerOf } from '../auth/roles.js';
import { openProjectSecrets } from '../crypto/project-secrets.js';
import { newId } from '../ids.js';
import type { AttemptRecord } from '../store/store.js';
import { DOWNLOAD_URL_TTL_S } from './artifacts.js';
import { appInfoFromQuery, checkAppInfoTarget } from '../install/app-info.js';
import { UPLOAD_URL_TTL_S } from './blobs.js';

/** What a direct artifact upload may become: sealed with the instance key, so nothing is stored and nothing forged. */
interface ArtifactUploadGrant {
  w: string;
  a: string;
  n: string;
  k: string;
  s: string;
  z: number;
}

const ArtifactUploadParams = Type.Object({ id: Id('att'), name: ArtifactName });
const SHA256_PATTERN = /^[0-9a-f]{64}$/;

const leaseIsLive = (a: AttemptRecord): boolean => a.status === 'running' && Date.parse(a.leaseExpiresAt) >= Date.now();

async function liveAttempt(ctx: ControllerContext, workerId: string, attemptId: string): Promise<AttemptRecord> {
  const attempt = await ctx.store.getAttemptForWorker(workerId, attemptId);
  if (!attempt) throw new ApiError('NOT_FOUND', 'no such attempt');
  if (!leaseIsLive(attempt)) throw new ApiError('LEASE_LOST');
  return attempt;
}

/**
 * Records an artifact whose blob is already stored (proxied or adopted from a direct upload). The
 * blob stays pinned until the row commits; if the record is refused (lease gone), a blob that
 * nothing else references or pins is deleted again.
 */
async function recordArtifact(
  ctx: ControllerContext,
  workerId: string,
  attemptId: string,
  a: { name: string; kind: ArtifactKind; size: number; sha256: string; app?: IosAppInfo },
  storeBytes: () => Promise<unknown>,
): Promise<Artifact> {
  // Pinned before the bytes are stored: neither retention nor another request's cleanup may delete
  // the blob (it may exist already, for another build or org) between its storing and its record.
  const release = ctx.pins.pin(a.sha256);
  try {
    // A refused upload stored nothing under the declared sha256: nothing of it is deleted.
    await storeBytes();
    try {
      return await ctx.store.addArtifact(workerId, attemptId, { id: newId('art'), ...a });
    } catch (err) {
      release();
      if (!ctx.pins.isPinned(a.sha256) && !(await ctx.store.blobReferenced(a.sha256))) await ctx.blobs.delete(a.sha256);
      throw err;
    }
  } finally {
    release();
  }
}

/** The build has ended for the user (canceled, timed out) while this attempt still runs: tell the worker to stop. */
function stopReason(attempt: AttemptRecord): 'canceled' | 'timed_out' | null {
  if (attempt.buildStatus === 'timed_out') return 'timed_out';
  if (attempt.cancelRequested || attempt.buildStatus !== 'running') return 'canceled';
  return null;
}

export function registerAttemptRoutes(app: App, ctx: ControllerContext): void {
  app.post(
    '/v1/attempts/:id/heartbeat',
    { config: { access: 'worker', body: 'json' }, schema: { tags: ['worker protocol'], params: AttemptParams, response: { 200: HeartbeatResponse } } },
    async (request) => {
      const worker = workerOf(request);
      const renewed = await ctx.store.heartbeat(worker.id, request.params.id, ctx.options.leaseTtlMs);
      if (!renewed) {
        // Tell "not yours" (404) from "yours, but the lease is gone" (409).
        await liveAttempt(ctx, worker.id, request.params.id);
        throw new ApiError('LEASE_LOST');
      }
      const reason = stopReason(renewed);
      return { leaseExpiresAt: renewed.leaseExpiresAt, cancel: reason !== null, reason, timing: ctx.timing };
    },
  );

  app.get(
    '/v1/attempts/:id/source',
    { config: { access: 'worker' }, schema: { tags: ['worker protocol'], params: AttemptParams, description: 'The source tar.gz.' } },
    async (request, reply) => {
      const attempt = await liveAttempt(ctx, workerOf(request).id, request.params.id);
      const direct = ctx.options.blobProxy ? undefined : ctx.blobs.direct;
      if (direct) {
        // Straight from the object store; the worker checks the sha256 of what it unpacks.
        const url = await direct.presignDownload(attempt.sourceSha256, DOWNLOAD_URL_TTL_S);
        return reply.header('cache-control', 'no-store').header(SHA256_HEADER, attempt.sourceSha256).redirect(url, 302);
      }
      const stat = await ctx.blobs.stat(attempt.sourceSha256);
      if (!stat) throw new ApiError('NOT_FOUND', 'the source of this build is gone');
      const stream = await ctx.blobs.get(attempt.sourceSha256);
      return reply
        .header('content-type', 'application/gzip')
        .header('content-length', stat.size)
        .header(SHA256_HEADER, attempt.sourceSha256)
        .send(stream);
    },
  );

  app.get(
    '/v1/attempts/:id/secrets',
    { config: { access: 'worker' }, schema: { tags: ['worker protocol'], params: AttemptParams, response: { 200: AttemptSecrets } } },
    async (request, reply) => {
      const attempt = await liveAttempt(ctx, workerOf(request).id, request.params.id);
      // A canceled (or timed-out) build needs no secrets, even while its lease lives on for the cleanup.
      const stopped = stopReason(attempt);
      if (stopped) throw new ApiError('CONFLICT', `the build was ${stopped.replace('_', ' ')}: its secrets and credentials are no longer served`);
      const build = await ctx.store.getBuildForRetry(attempt.orgId, attempt.buildId);
      if (!build) throw new ApiError('NOT_FOUND', 'no such attempt');
      // Unscoped secrets plus those of the profile's EAS environment (which win a shared name).
      const sealedSecrets = await ctx.store.getSealedSecrets(attempt.orgId, attempt.projectId, build.spec.profile.environment);
      const credentials = build.credentialsSealed ? ctx.keyring.openJson<CredentialsBundle>(build.credentialsSealed) : null;
      const { secrets, files } = openProjectSecrets(ctx.keyring, sealedSecrets);
      const read = { buildId: attempt.buildId, attemptId: attempt.id };
      if (credentials) await audit(ctx, request, { action: 'credentials.read', orgId: attempt.orgId, target: { type: 'build', id: attempt.buildId }, details: { ...read, platforms: Object.keys(credentials) } });
      if (sealedSecrets.length > 0) await audit(ctx, request, { action: 'secrets.read', orgId: attempt.orgId, target: { type: 'build', id: attempt.buildId }, details: { ...read, names: sealedSecrets.map((s) => s.name) } });
      reply.header('cache-control', 'no-store');
      return { credentials, secrets, ...(files ? { files } : {}) };
    },
  );

  app.post(
    '/v1/attempts/:id/logs',
    {
      bodyLimit: LOG_BATCH_MAX_BYTES,
      config: { access: 'worker', body: 'json' },
      schema: { tags: ['worker protocol'], params: AttemptParams, body: LogBatch, response: { 200: LogBatchAck } },
    },
    async (request) => {
      const worker = workerOf(request);
      const { seq, lines } = request.body;
      const result = await ctx.store.appendLogs(worker.id, request.params.id, seq, lines);
      if (!result.duplicate) ctx.wakeups.logAppended(result.buildId);
      return { seq, duplicate: result.duplicate };
    },
  );

  app.put(
    '/v1/attempts/:id/artifacts/:name',
    {
      config: { access: 'worker', body: 'stream', maxBodyBytes: ctx.options.maxArtifactBytes },
      schema: {
        tags: ['worker protocol'],
        params: ArtifactUploadParams,
        querystring: UploadArtifactQuery,
        consumes: ['application/octet-stream'],
        description: `The file as application/octet-stream with Content-Length and the ${SHA256_HEADER} header.`,
        response: { 201: Artifact },
      },
    },
    async (request, reply) => {
      const worker = workerOf(request);
      const declaredSha = request.headers[SHA256_HEADER];
      const declaredSize = request.headers['content-length'];
      if (typeof declaredSha !== 'string' || !SHA256_PATTERN.test(declaredSha)) {
        throw new ApiError('VALIDATION_FAILED', `headers/${SHA256_HEADER}: must be the file's sha256 (64 lower-case hex)`);
      }
      if (declaredSize === undefined) throw new ApiError('VALIDATION_FAILED', 'headers/content-length: required for an artifact');
      const kind = request.query.kind ?? 'other';
      const app = appInfoFromQuery(request.query);
      // Checked before a byte is read: nothing is stored for an attempt that may not write (and
      // another org's worker learns nothing of this one's rules before it is refused).
      await liveAttempt(ctx, worker.id, request.params.id);
      checkAppInfoTarget(request.params.name, kind, app);
      // The body guard's socket timeout cuts a stalled upload (one timer for every body).
      // put refuses bytes whose size or sha256 differ from the declared ones.
      const artifact = await recordArtifact(ctx, worker.id, request.params.id, { name: request.params.name, kind, size: Number(declaredSize), sha256: declaredSha, ...(app ? { app } : {}) }, () =>
        ctx.blobs.put(request.raw, { maxBytes: ctx.options.maxArtifactBytes, expectedSha256: declaredSha, expectedSize: Number(declaredSize) }),
      );
      return reply.code(201).send(artifact);
    },
  );

  app.post(
    '/v1/attempts/:id/artifacts/:name/uploads',
    {
      config: { access: 'worker', body: 'json' },
      schema: { tags: ['worker protocol'], params: ArtifactUploadParams, body: ArtifactUploadRequest, response: { 200: BlobUploadTicket } },
    },
    async (request) => {
      const worker = workerOf(request);
      await liveAttempt(ctx, worker.id, request.params.id);
      const direct = ctx.options.blobProxy ? undefined : ctx.blobs.direct;
      if (!direct) return { mode: 'proxy' as const };
      const { sha256, size } = request.body;
      if (size > ctx.options.maxArtifactBytes) throw new ApiError('PAYLOAD_TOO_LARGE', `an artifact may be at most ${ctx.options.maxArtifactBytes} bytes`);
      const { url, key, expiresAt } = await direct.presignUpload(size, UPLOAD_URL_TTL_S);
      const grant: ArtifactUploadGrant = { w: worker.id, a: request.params.id, n: request.params.name, k: key, s: sha256, z: size };
      return { mode: 'direct' as const, url, uploadId: ctx.keyring.sealJson(grant).toString('base64url'), expiresAt };
    },
  );

  app.post(
    '/v1/attempts/:id/artifacts/:name/uploads/complete',
    {
      config: { access: 'worker', body: 'json' },
      schema: { tags: ['worker protocol'], params: ArtifactUploadParams, body: CompleteArtifactUploadRequest, response: { 201: Artifact } },
    },
    async (request, reply) => {
      const worker = workerOf(request);
      const { kind = 'other', app } = request.body;
      await liveAttempt(ctx, worker.id, request.params.id);
      checkAppInfoTarget(request.params.name, kind, app);
      const direct = ctx.options.blobProxy ? undefined : ctx.blobs.direct;
      let grant: ArtifactUploadGrant | undefined;
      try {
        grant = ctx.keyring.openJson<ArtifactUploadGrant>(Buffer.from(request.body.uploadId, 'base64url'));
      } catch {
        grant = undefined;
      }
      if (!direct || !grant || grant.w !== worker.id || grant.a !== request.params.id || grant.n !== request.params.name) {
        throw new ApiError('NOT_FOUND', 'no such upload');
      }
      const upload = { sha256: grant.s, size: grant.z };
      const artifact = await recordArtifact(ctx, worker.id, request.params.id, { name: request.params.name, kind, ...upload, ...(app ? { app } : {}) }, () => direct.adoptUpload(grant.k, upload));
      return reply.code(201).send(artifact);
    },
  );

  app.post(
    '/v1/attempts/:id/finish',
    {
      config: { access: 'worker', body: 'json' },
      schema: { tags: ['worker protocol'], params: AttemptParams, body: FinishRequest, response: { 200: FinishResponse } },
    },
    async (request) => {
      const worker = workerOf(request);
      const { outcome, error, phases } = request.body;
      const result = await ctx.store.finishAttempt(worker.id, request.params.id, outcome, error ?? null, phases ?? []);
      ctx.wakeups.buildChanged(result.buildId);
      return { buildStatus: result.buildStatus };
    },
  );
}
