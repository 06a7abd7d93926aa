import { ApiError, CreatedToken, CreateTokenRequest, TokenInfo, TokenList, TokenParams } from '@buildmesh/protocol';
import type { App } from '../http/app.js';
import type { ControllerContext } from '../context.js';
import { userOf } from '../auth/roles.js';
import { mintCredential } from '../auth/tokens.js';
import { newId } from '../ids.js';

/** API tokens: shown once at creation, stored as a hash, revocable. */
export function registerTokenRoutes(app: App, ctx: ControllerContext): void {
  app.post(
    '/v1/tokens',
    { config: { access: 'admin', body: 'json' }, schema: { tags: ['tenancy'], body: CreateTokenRequest, response: { 201: CreatedToken } } },
    async (request, reply) => {
      const auth = userOf(request);
      let orgId = auth.orgId;
      if (request.body.orgId !== undefined && request.body.orgId !== auth.orgId) {
        // Another org's id is NOT_FOUND for everyone but the instance admin (no existence leak).
        if (!auth.instanceAdmin || !(await ctx.store.getOrg(request.body.orgId))) throw new ApiError('NOT_FOUND', 'no such org');
        orgId = request.body.orgId;
      }
      const id = newId('tok');
      const { token, secretHash } = mintCredential('t', id);
      const info = await ctx.store.insertToken({ id, orgId, name: request.body.name, role: request.body.role, instanceAdmin: false, secretHash });
      return reply.code(201).send({ token: info, secret: token });
    },
  );

  app.get('/v1/tokens', { config: { access: 'admin' }, schema: { tags: ['tenancy'], response: { 200: TokenList } } }, async (request) => {
    return { tokens: await ctx.store.listTokens(userOf(request).orgId) };
  });

  app.delete(
    '/v1/tokens/:id',
    { config: { access: 'admin' }, schema: { tags: ['tenancy'], params: TokenParams, response: { 200: TokenInfo } } },
    async (request) => {
      const auth = userOf(request);
      let orgId = auth.orgId;
      if (auth.instanceAdmin) {
        // The instance admin may revoke tokens it created for other orgs.
        const token = await ctx.store.findToken(request.params.id);
        if (token) orgId = token.orgId;
      }
      const revoked = await ctx.store.revokeToken(orgId, request.params.id);
      if (!revoked) throw new ApiError('NOT_FOUND', 'no such token');
      return revoked;
    },
  );
}
