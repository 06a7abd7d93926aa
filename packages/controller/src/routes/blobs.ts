/**
 * Content-addressed uploads: which of its blobs an org already has, and the
 * upload of one blob as a raw body checked against the sha256 in its path and
 * its Content-Length. Presence is per org (org_blobs): a blob stored for another
 * org answers "not present", and uploading it again is what makes it this org's.
 * With an S3 store (and no BUILDMESH_BLOB_PROXY) the bytes go straight to the
 * bucket through a presigned PUT for one new key; the upload id that comes with
 * it is sealed with the instance key (org, key, sha256, size, expiry: nothing
 * stored, nothing forgeable), and completing it reads the object back and checks
 * it before the blob becomes present.
 */
import { ApiError, BlobParams, BlobPresence, BlobPresenceRequest, BlobRef, BlobUploadTicket, CompleteBlobUploadRequest } from '@buildmesh/protocol';
import type { App } from '../http/app.js';
import type { ControllerContext } from '../context.js';
import { userOf } from '../auth/roles.js';
import { orgBlobsPresent } from '../blobs/presence.js';

/** How long a presigned upload URL may be used (S3 checks it when the PUT starts). */
export const UPLOAD_URL_TTL_S = 15 * 60;

interface UploadGrant {
  o: string;
  k: string;
  s: string;
  n: number;
  e: number;
}

export function registerBlobRoutes(app: App, ctx: ControllerContext): void {
  const direct = ctx.options.blobProxy ? undefined : ctx.blobs.direct;

  app.post(
    '/v1/blobs/uploads',
    { config: { access: 'member', body: 'json' }, schema: { tags: ['builds'], body: BlobRef, response: { 200: BlobUploadTicket } } },
    async (request) => {
      if (!direct) return { mode: 'proxy' as const };
      const { sha256, size } = request.body;
      if (size > ctx.options.maxSourceBytes) throw new ApiError('PAYLOAD_TOO_LARGE', `a source may be at most ${ctx.options.maxSourceBytes} bytes`);
      const { url, key, expiresAt } = await direct.presignUpload(size, UPLOAD_URL_TTL_S);
      const grant: UploadGrant = { o: userOf(request).orgId, k: key, s: sha256, n: size, e: Date.parse(expiresAt) };
      return { mode: 'direct' as const, url, uploadId: ctx.keyring.sealJson(grant).toString('base64url'), expiresAt };
    },
  );

  app.post(
    '/v1/blobs/uploads/complete',
    { config: { access: 'member', body: 'json' }, schema: { tags: ['builds'], body: CompleteBlobUploadRequest, response: { 201: BlobRef } } },
    async (request, reply) => {
      if (!direct) throw new ApiError('NOT_FOUND', 'no such upload');
      const { orgId } = userOf(request);
      let grant: UploadGrant;
      try {
        grant = ctx.keyring.openJson<UploadGrant>(Buffer.from(request.body.uploadId, 'base64url'));
      } catch {
        throw new ApiError('NOT_FOUND', 'no such upload');
      }
      // Another org's upload id is no upload of this org's (404, as every foreign id).
      if (grant.o !== orgId) throw new ApiError('NOT_FOUND', 'no such upload');
      const blob = { sha256: grant.s, size: grant.n };
      await direct.adoptUpload(grant.k, blob);
      await ctx.store.recordOrgBlob(orgId, blob.sha256, blob.size);
      ctx.metrics.blobUploaded(blob.size);
      return reply.code(201).send(blob);
    },
  );

  app.post(
    '/v1/blobs/presence',
    { config: { access: 'member', body: 'json' }, schema: { tags: ['builds'], body: BlobPresenceRequest, response: { 200: BlobPresence } } },
    async (request) => ({ present: [...(await orgBlobsPresent(ctx, userOf(request).orgId, request.body.blobs))] }),
  );

  app.put(
    '/v1/blobs/:sha256',
    {
      config: { access: 'member', body: 'stream', maxBodyBytes: ctx.options.maxSourceBytes },
      schema: {
        tags: ['builds'],
        params: BlobParams,
        consumes: ['application/octet-stream'],
        description: 'The blob (a source tar.gz) as application/octet-stream with Content-Length; refused unless its bytes hash to the sha256 in the path.',
        response: { 201: BlobRef },
      },
    },
    async (request, reply) => {
      const { orgId } = userOf(request);
      const declaredSize = request.headers['content-length'];
      if (declaredSize === undefined) throw new ApiError('VALIDATION_FAILED', 'headers/content-length: required for a blob');
      // The body guard's socket timeout cuts a stalled upload (one timer for every body).
      const stored = await ctx.blobs.put(request.raw, {
        maxBytes: ctx.options.maxSourceBytes,
        expectedSha256: request.params.sha256,
        expectedSize: Number(declaredSize),
      });
      await ctx.store.recordOrgBlob(orgId, stored.sha256, stored.size);
      ctx.metrics.blobUploaded(stored.size);
      return reply.code(201).send(stored);
    },
  );
}
