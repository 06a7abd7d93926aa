/**
 * Content-addressed uploads: which of its blobs an org already has, and the
 * upload of one blob as a raw body checked against the sha256 in its path and
 * its Content-Length. Presence is per org (org_blobs): a blob stored for another
 * org answers "not present", and uploading it again is what makes it this org's.
 */
import { ApiError, BlobParams, BlobPresence, BlobPresenceRequest, BlobRef } from '@buildmesh/protocol';
import type { App } from '../http/app.js';
import type { ControllerContext } from '../context.js';
import { userOf } from '../auth/roles.js';
import { orgBlobsPresent } from '../blobs/presence.js';

export function registerBlobRoutes(app: App, ctx: ControllerContext): void {
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
