/**
 * Builds: submit, list, get, cancel, retry. A submit is either a small JSON
 * request naming a source blob the org has uploaded (PUT /v1/blobs/:sha256; the
 * CLI's way, so one upload serves every platform and every re-run) or multipart
 * (spec, optional credentials, streamed source) in one request. A build row is committed only after its source is durably
 * in the blob store; any failure before that answers 4xx and leaves neither a
 * row nor a blob behind. A submit carrying an Idempotency-Key the org has used
 * already answers 200 with that first build (nothing new is queued).
 */
import multipart, { type Multipart } from '@fastify/multipart';
import { Type } from 'typebox';
import {
  ApiError,
  Build,
  BuildIdParams,
  BuildList,
  CreateBuildRequest,
  CreateBuildSpec,
  CredentialsBundle,
  IDEMPOTENCY_KEY_HEADER,
  IdempotencyKey,
  ListBuildsQuery,
  isTerminal,
  type Build as BuildT,
  type CreateBuildSpec as CreateBuildSpecT,
} from '@buildmesh/protocol';
import type { FastifyRequest } from 'fastify';
import type { App } from '../http/app.js';
import { withAppVersion } from '../app-versions.js';
import type { ControllerContext } from '../context.js';
import { audit } from '../audit/record.js';
import { requireBuildInScope, requireProjectScope, userOf } from '../auth/roles.js';
import { compileChecker } from '../http/validate.js';
import { orgBlobsPresent } from '../blobs/presence.js';
import { newId } from '../ids.js';
import type { NewBuild } from '../store/store.js';

const specChecker = compileChecker(CreateBuildSpec);
const createRequestChecker = compileChecker(CreateBuildRequest);
const credentialsChecker = compileChecker(CredentialsBundle);
const idempotencyKeyChecker = compileChecker(IdempotencyKey);
/** The spec and the credentials bundle are JSON fields; the credentials may carry several base64 certificates. */
const MAX_FIELD_BYTES = 8 * 1024 * 1024;
const MULTIPART_OVERHEAD_BYTES = 2 * MAX_FIELD_BYTES + 64 * 1024;

/** Lists take the protocol's query, flattened into one object for the OpenAPI document. */
const ListQuery = Type.Object(Object.assign({}, ...ListBuildsQuery.allOf.map((s) => s.properties)) as typeof ListBuildsQuery.allOf[0]['properties'] & typeof ListBuildsQuery.allOf[1]['properties']);

function jsonField(part: Multipart, where: string): unknown {
  if (part.type !== 'field') throw new ApiError('VALIDATION_FAILED', `${where}: must be a JSON field, not a file`);
  if (part.valueTruncated) throw new ApiError('PAYLOAD_TOO_LARGE', `${where}: larger than ${MAX_FIELD_BYTES} bytes`);
  if (typeof part.value !== 'string') return part.value; // already parsed (Content-Type: application/json)
  try {
    return JSON.parse(part.value) as unknown;
  } catch {
    throw new ApiError('MALFORMED_JSON', `${where}: not valid JSON`);
  }
}

interface Submission {
  spec: CreateBuildSpecT;
  credentials: CredentialsBundle | undefined;
  source: { sha256: string; size: number };
  release: () => void;
}

/** Reads the parts in their required order; the source goes straight to the blob store. */
async function readSubmission(ctx: ControllerContext, request: FastifyRequest): Promise<Submission> {
  let spec: CreateBuildSpecT | undefined;
  let credentials: CredentialsBundle | undefined;
  let source: { sha256: string; size: number } | undefined;
  let release: (() => void) | undefined;
  try {
    for await (const part of request.parts()) {
      if (source) throw new ApiError('VALIDATION_FAILED', `part ${part.fieldname}: nothing may follow the source`);
      if (!spec) {
        if (part.fieldname !== 'spec') throw new ApiError('VALIDATION_FAILED', 'the first part must be `spec`, valid JSON');
        spec = specChecker.check(jsonField(part, 'spec'), 'spec');
      } else if (part.fieldname === 'credentials' && !credentials) {
        credentials = credentialsChecker.check(jsonField(part, 'credentials'), 'credentials');
      } else if (part.fieldname === 'source' && part.type === 'file') {
        // No idleTimeoutMs here: the body guard's socket timeout covers the whole request body (one timer, one 408).
        source = await ctx.blobs.put(part.file, { maxBytes: ctx.options.maxSourceBytes });
        release = ctx.pins.pin(source.sha256);
      } else {
        throw new ApiError('VALIDATION_FAILED', `unexpected part ${part.fieldname}: the parts are spec, credentials (optional), source`);
      }
    }
    if (!spec) throw new ApiError('VALIDATION_FAILED', 'the `spec` part is missing or not valid JSON');
    if (!source || !release) throw new ApiError('VALIDATION_FAILED', 'the `source` part (a tar.gz file) is missing');
    return { spec, credentials, source, release };
  } catch (err) {
    // Stop feeding the multipart parser; the body guard discards what is still coming.
    request.raw.unpipe();
    if (source && release) await dropUnreferencedBlob(ctx, source.sha256, release);
    throw err;
  }
}

/** After a failed submit: the blob goes unless another build uses or is just committing the same bytes. */
async function dropUnreferencedBlob(ctx: ControllerContext, sha256: string, release: () => void): Promise<void> {
  release();
  if (ctx.pins.isPinned(sha256) || (await ctx.store.blobReferenced(sha256))) return;
  await ctx.blobs.delete(sha256);
}

/** The build's credentials: the bundle sent with it, else the project's stored ones for its platform. */
async function credentialsFor(
  ctx: ControllerContext,
  orgId: string,
  projectId: string,
  submission: { spec: CreateBuildSpecT; credentials?: CredentialsBundle | undefined },
): Promise<Buffer | null> {
  if (submission.credentials) return ctx.keyring.sealJson(submission.credentials);
  const { platform, profile } = submission.spec;
  if (platform === 'web' || profile.withoutCredentials) return null;
  const stored = await ctx.store.getProjectCredentials(orgId, projectId);
  // Stored sealed as a one-platform bundle: the bytes serve as they are.
  return stored.find((row) => row.platform === platform)?.sealed ?? null;
}

/**
 * Projects are never renamed or deleted, so a name's project id can be
 * remembered: one query less on the submit path.
 */
class ProjectIds {
  private readonly ids = new Map<string, string>();
  async resolve(ctx: ControllerContext, orgId: string, name: string): Promise<string> {
    const key = `${orgId}/${name}`;
    const known = this.ids.get(key);
    if (known) return known;
    const project = await ctx.store.ensureProject(orgId, newId('prj'), name);
    if (this.ids.size >= 10_000) this.ids.clear();
    this.ids.set(key, project.id);
    return project.id;
  }
}

function announce(ctx: ControllerContext, orgId: string, build: BuildT): void {
  ctx.wakeups.buildQueued({ buildId: build.id, orgId, platform: build.platform, labels: build.labels });
}

/** A build whose source is a blob the org uploaded; a repeated idempotency key answers the first build (created: false). */
async function createFromBlob(
  ctx: ControllerContext,
  projects: ProjectIds,
  orgId: string,
  tokenName: string | null,
  request: CreateBuildRequest,
  idempotencyKey: string | null,
): Promise<{ build: BuildT; created: boolean }> {
  // Pinned while it is checked and referenced: retention cannot delete it in between.
  const release = ctx.pins.pin(request.source.sha256);
  try {
    if (!(await orgBlobsPresent(ctx, orgId, [request.source])).has(request.source.sha256)) throw new ApiError('SOURCE_NOT_UPLOADED');
    return await insertBuild(ctx, projects, orgId, tokenName, request, idempotencyKey);
  } finally {
    release();
  }
}

/** Both ways of submitting end here: project, credentials, app version, then one insert (a repeated idempotency key answers the first build, created: false). */
async function insertBuild(
  ctx: ControllerContext,
  projects: ProjectIds,
  orgId: string,
  tokenName: string | null,
  submission: { spec: CreateBuildSpecT; credentials?: CredentialsBundle | undefined; source: { sha256: string; size: number } },
  idempotencyKey: string | null,
): Promise<{ build: BuildT; created: boolean }> {
  // A submit the queue limit refuses creates no project and takes no app build version.
  await ctx.store.checkQueueRoom(orgId, idempotencyKey);
  const projectId = await projects.resolve(ctx, orgId, submission.spec.project);
  const credentialsSealed = await credentialsFor(ctx, orgId, projectId, submission);
  const id = newId('bld');
  const build = await ctx.store.createBuild({
    id,
    orgId,
    projectId,
    spec: await withAppVersion(ctx, orgId, projectId, submission.spec),
    source: submission.source,
    credentialsSealed,
    retryOf: null,
    idempotencyKey,
    submittedBy: tokenName,
  });
  return { build, created: build.id === id };
}

export function registerBuildRoutes(app: App, ctx: ControllerContext): void {
  const projects = new ProjectIds();
  // Encapsulated: the multipart parser and its hooks exist for this one route only.
  void app.register(async (scope: App) => {
    await scope.register(multipart, {
      throwFileSizeLimit: true,
      // Larger parser buffers: fewer, bigger chunks through hashing and the blob writer on big sources.
      highWaterMark: 1024 * 1024,
      fileHwm: 1024 * 1024,
      limits: {
        fieldNameSize: 64,
        fieldSize: MAX_FIELD_BYTES,
        fields: 2,
        files: 1,
        parts: 3,
        headerPairs: 32,
        // One byte over our own limit, so the blob store (which names the limit) refuses first.
        fileSize: ctx.options.maxSourceBytes + 1,
      },
    });
    scope.post(
      '/v1/builds',
      {
        bodyLimit: 2 * MAX_FIELD_BYTES,
        config: { access: 'member', body: ['json', 'multipart'], maxBodyBytes: ctx.options.maxSourceBytes + MULTIPART_OVERHEAD_BYTES },
        schema: {
          tags: ['builds'],
          consumes: ['application/json', 'multipart/form-data'],
          description:
            'application/json: a CreateBuildRequest (spec, optional credentials, and the source as a blob the org uploaded with PUT /v1/blobs/:sha256). Or multipart/form-data, in this order: `spec` (JSON CreateBuildSpec), `credentials` (optional JSON CredentialsBundle), `source` (the tar.gz).',
          response: { 200: Build, 201: Build },
        },
      },
      async (request, reply) => {
        const auth = userOf(request);
        const { orgId, tokenName } = auth;
        const header = request.headers[IDEMPOTENCY_KEY_HEADER];
        const idempotencyKey = header === undefined ? null : idempotencyKeyChecker.check(header, IDEMPOTENCY_KEY_HEADER);
        if (!request.isMultipart()) {
          const body = createRequestChecker.check(request.body, 'body');
          requireProjectScope(auth, body.spec.project);
          const { build, created } = await createFromBlob(ctx, projects, orgId, tokenName, body, idempotencyKey);
          if (created) announce(ctx, orgId, build);
          return reply.code(created ? 201 : 200).send(build);
        }
        const submission = await readSubmission(ctx, request);
        try {
          requireProjectScope(auth, submission.spec.project);
          const { build, created } = await insertBuild(ctx, projects, orgId, tokenName, submission, idempotencyKey);
          if (!created) {
            // A repeat of a submit already acknowledged: the first build stands, this upload goes.
            await dropUnreferencedBlob(ctx, submission.source.sha256, submission.release);
            return reply.code(200).send(build);
          }
          submission.release();
          announce(ctx, orgId, build);
          return reply.code(201).send(build);
        } catch (err) {
          await dropUnreferencedBlob(ctx, submission.source.sha256, submission.release);
          throw err;
        }
      },
    );
  });

  app.get(
    '/v1/builds',
    { config: { access: 'read' }, schema: { tags: ['builds'], querystring: ListQuery, response: { 200: BuildList } } },
    async (request) => {
      return ctx.store.listBuilds(userOf(request).orgId, { ...request.query, limit: request.query.limit ?? 50 });
    },
  );

  app.get(
    '/v1/builds/:id',
    { config: { access: 'read' }, schema: { tags: ['builds'], params: BuildIdParams, response: { 200: Build } } },
    async (request) => {
      const { orgId } = userOf(request);
      const build = await ctx.store.getBuild(orgId, request.params.id, { withAttempts: true, withProfile: true });
      if (!build) throw new ApiError('NOT_FOUND', 'no such build');
      build.queue = build.status === 'queued' ? await ctx.store.queueInfo(orgId, build.id, ctx.onlineWithinMs) : null;
      return build;
    },
  );

  app.post(
    '/v1/builds/:id/cancel',
    { config: { access: 'member' }, schema: { tags: ['builds'], params: BuildIdParams, response: { 200: Build } } },
    async (request) => {
      const auth = userOf(request);
      const { orgId } = auth;
      if (auth.project) await requireBuildInScope(ctx.store, auth, request.params.id);
      const build = await ctx.store.cancelBuild(orgId, request.params.id);
      if (!build) throw new ApiError('NOT_FOUND', 'no such build');
      ctx.wakeups.buildChanged(build.id);
      await audit(ctx, request, { action: 'build.cancel', orgId, target: { type: 'build', id: build.id } });
      return build;
    },
  );

  app.post(
    '/v1/builds/:id/retry',
    { config: { access: 'member' }, schema: { tags: ['builds'], params: BuildIdParams, response: { 201: Build } } },
    async (request, reply) => {
      const auth = userOf(request);
      const { orgId, tokenName } = auth;
      if (auth.project) await requireBuildInScope(ctx.store, auth, request.params.id);
      const original = await ctx.store.getBuildForRetry(orgId, request.params.id);
      if (!original) throw new ApiError('NOT_FOUND', 'no such build');
      if (!isTerminal(original.status)) throw new ApiError('BUILD_NOT_RETRYABLE');
      const release = ctx.pins.pin(original.source.sha256);
      try {
        if (!(await ctx.blobs.stat(original.source.sha256))) {
          throw new ApiError('CONFLICT', 'the source of this build has expired; submit it again');
        }
        const { status: _status, ...rest } = original;
        const next: NewBuild = { ...rest, id: newId('bld'), retryOf: original.id, submittedBy: tokenName };
        const build = await ctx.store.createBuild(next);
        announce(ctx, orgId, build);
        await audit(ctx, request, { action: 'build.retry', orgId, target: { type: 'build', id: build.id }, details: { retryOf: original.id } });
        return reply.code(201).send(build);
      } finally {
        release();
      }
    },
  );
}
