/**
 * Artifacts as users read them: the list, and downloads with their size and
 * sha256 in headers, an ETag, and single-range HTTP Range support. With an S3
 * store (no BUILDMESH_BLOB_PROXY) a download answers 302 to a presigned GET.
 */
import { ApiError, ArtifactList, ArtifactParams, BuildIdParams, SHA256_HEADER } from '@buildmesh/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../http/app.js';
import type { ControllerContext } from '../context.js';
import { userOf } from '../auth/roles.js';
import { parseRange } from '../http/range.js';

/** How long a presigned download URL may be used to start a download. */
export const DOWNLOAD_URL_TTL_S = 5 * 60;

/** `attachment; filename="…"` with a safe ASCII fallback and the exact name in RFC 5987 form. */
export function contentDisposition(name: string): string {
  const fallback = name.replace(/[^A-Za-z0-9._+-]/g, '_');
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/** Streams one of the org's artifacts (or answers 404): the download route's and the install link's body. */
export async function sendArtifact(
  ctx: ControllerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  where: { orgId: string; buildId: string; artifactId: string },
): Promise<FastifyReply> {
  const artifact = await ctx.store.getArtifact(where.orgId, where.buildId, where.artifactId);
  if (!artifact) throw new ApiError('NOT_FOUND', 'no such artifact');
  const direct = ctx.options.blobProxy ? undefined : ctx.blobs.direct;
  if (direct) {
    // Straight from the object store: a short-lived URL for this one object (Range works there too).
    const url = await direct.presignDownload(artifact.sha256, DOWNLOAD_URL_TTL_S, contentDisposition(artifact.name));
    return reply.header('cache-control', 'no-store').header(SHA256_HEADER, artifact.sha256).redirect(url, 302);
  }
  const etag = `"${artifact.sha256}"`;
  reply
    .header('content-type', 'application/octet-stream')
    .header('content-disposition', contentDisposition(artifact.name))
    .header(SHA256_HEADER, artifact.sha256)
    .header('etag', etag)
    .header('accept-ranges', 'bytes')
    .header('cache-control', 'private, max-age=0');
  if (request.headers['if-none-match'] === etag) return reply.code(304).send();
  const ifRange = request.headers['if-range'];
  const range = ifRange === undefined || ifRange === etag ? parseRange(request.headers.range, artifact.size) : undefined;
  if (range === 'unsatisfiable') {
    reply.header('content-range', `bytes */${artifact.size}`);
    throw new ApiError('RANGE_NOT_SATISFIABLE');
  }
  if (range) {
    const stream = await ctx.blobs.get(artifact.sha256, range);
    return reply
      .code(206)
      .header('content-range', `bytes ${range.start}-${range.end}/${artifact.size}`)
      .header('content-length', range.end - range.start + 1)
      .send(stream);
  }
  const stream = await ctx.blobs.get(artifact.sha256);
  return reply.header('content-length', artifact.size).send(stream);
}

export function registerArtifactRoutes(app: App, ctx: ControllerContext): void {
  app.get(
    '/v1/builds/:id/artifacts',
    { config: { access: 'read' }, schema: { tags: ['builds'], params: BuildIdParams, response: { 200: ArtifactList } } },
    async (request) => {
      const artifacts = await ctx.store.listArtifacts(userOf(request).orgId, request.params.id);
      if (!artifacts) throw new ApiError('NOT_FOUND', 'no such build');
      return { artifacts };
    },
  );

  app.get(
    '/v1/builds/:id/artifacts/:artifactId',
    {
      config: { access: 'read' },
      schema: { tags: ['builds'], params: ArtifactParams, description: 'The file (application/octet-stream); supports Range.' },
    },
    async (request, reply) =>
      sendArtifact(ctx, request, reply, { orgId: userOf(request).orgId, buildId: request.params.id, artifactId: request.params.artifactId }),
  );
}
