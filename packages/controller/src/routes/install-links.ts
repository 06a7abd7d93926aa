import { ApiError, ArtifactParams, INSTALL_LINK_TTL_SECONDS, InstallLink, InstallLinkParams } from '@buildmesh/protocol';
import type { App } from '../http/app.js';
import type { ControllerContext } from '../context.js';
import { userOf } from '../auth/roles.js';
import { mintInstallGrant, openInstallGrant } from '../auth/install-grants.js';
import { sendArtifact } from './artifacts.js';
import { renderInstallManifest } from '../install/ios-manifest.js';

/**
 * Install links: what a tester's phone opens from the dashboard's QR code (auth/install-grants.ts),
 * and for an .ipa with app info the itms-services manifest an iPhone reads, under the same grant.
 */
export function registerInstallLinkRoutes(app: App, ctx: ControllerContext): void {
  app.get(
    '/v1/builds/:id/artifacts/:artifactId/install-link',
    {
      config: { access: 'read' },
      schema: {
        tags: ['builds'],
        params: ArtifactParams,
        response: { 200: InstallLink },
        description: `A link that downloads the artifact without credentials for ${INSTALL_LINK_TTL_SECONDS / 3600} hour(s).`,
      },
    },
    async (request) => {
      const { orgId } = userOf(request);
      const artifact = await ctx.store.getArtifact(orgId, request.params.id, request.params.artifactId);
      if (!artifact) throw new ApiError('NOT_FOUND', 'no such artifact');
      const expiresAt = Date.now() + INSTALL_LINK_TTL_SECONDS * 1000;
      const grant = mintInstallGrant(ctx.keyring, { orgId, buildId: artifact.buildId, artifactId: artifact.id }, expiresAt);
      // The address the caller used (behind a trusted proxy, the one it was given), so a phone can reach it.
      const url = `${request.protocol}://${request.host}/v1/install/${grant}`;
      return { url, expiresAt: new Date(expiresAt).toISOString(), ...(artifact.app ? { manifestUrl: `${url}/manifest.plist` } : {}) };
    },
  );

  app.get(
    '/v1/install/:grant',
    {
      config: { access: 'public' },
      schema: { tags: ['builds'], params: InstallLinkParams, description: 'The artifact an install link names (application/octet-stream); 404 once it expired.' },
    },
    async (request, reply) => {
      const where = openInstallGrant(ctx.keyring, request.params.grant);
      if (!where) throw new ApiError('NOT_FOUND', 'this install link is unknown or has expired');
      return sendArtifact(ctx, request, reply, where);
    },
  );

  app.get(
    '/v1/install/:grant/manifest.plist',
    {
      config: { access: 'public' },
      schema: {
        tags: ['builds'],
        params: InstallLinkParams,
        description: "The itms-services manifest (an XML plist) of the .ipa an install link names; 404 once it expired, or when the artifact carries no iOS app info.",
      },
    },
    async (request, reply) => {
      const where = openInstallGrant(ctx.keyring, request.params.grant);
      const artifact = where && (await ctx.store.getArtifact(where.orgId, where.buildId, where.artifactId));
      if (!artifact?.app) throw new ApiError('NOT_FOUND', 'this install link is unknown or has expired');
      const ipaUrl = `${request.protocol}://${request.host}/v1/install/${request.params.grant}`;
      return reply.header('content-type', 'text/xml; charset=utf-8').header('cache-control', 'no-store').send(renderInstallManifest(ipaUrl, artifact.app));
    },
  );
}
