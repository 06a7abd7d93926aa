import { ApiError, CreatedToken, CreateTokenRequest, RotatedInstanceAdminToken, RotatedKey, TokenInfo, TokenList, TokenParams } from '@buildmesh/protocol';
import type { App } from '../http/app.js';
import type { ControllerContext } from '../context.js';
import { audit } from '../audit/record.js';
import { rotateKey } from '../crypto/rotate-key.js';
import { userOf } from '../auth/roles.js';
import { mintCredential } from '../auth/tokens.js';
import { newId } from '../ids.js';
import { INSTANCE_ADMIN_TOKEN_NAME } from '../bootstrap.js';

/**
 * API tokens: shown once at creation, stored as a hash, revocable. The instance admin stands outside
 * every org: only the instance admin lists or revokes instance admin tokens, and replaces its own by rotation.
 */
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
      await audit(ctx, request, { action: 'token.create', orgId, target: { type: 'token', id }, details: { name: info.name, role: info.role } });
      return reply.code(201).send({ token: info, secret: token });
    },
  );

  app.get('/v1/tokens', { config: { access: 'admin' }, schema: { tags: ['tenancy'], response: { 200: TokenList } } }, async (request) => {
    const auth = userOf(request);
    return { tokens: await ctx.store.listTokens(auth.orgId, auth.instanceAdmin) };
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
      if (request.params.id === auth.tokenId && auth.instanceAdmin) {
        throw new ApiError('CONFLICT', 'the instance admin token is replaced, not revoked: buildmesh admin rotate-instance-token');
      }
      const revoked = await ctx.store.revokeToken(orgId, request.params.id, auth.instanceAdmin);
      if (!revoked) throw new ApiError('NOT_FOUND', 'no such token');
      await audit(ctx, request, { action: 'token.revoke', orgId: revoked.orgId, target: { type: 'token', id: revoked.id }, details: { name: revoked.name } });
      return revoked;
    },
  );

  app.post(
    '/v1/instance-admin/rotate-key',
    {
      config: { access: 'instance-admin', body: 'json' },
      schema: {
        tags: ['tenancy'],
        response: { 200: RotatedKey },
        description: 'A new encryption key; every stored credential, secret and webhook secret is re-sealed under it while the controller runs, and the old key is forgotten.',
      },
    },
    async (request) => {
      const rotated = await rotateKey(ctx.options, ctx.store, ctx.keyring);
      request.log.warn({ version: rotated.version, resealed: rotated.resealed }, 'encryption key rotated');
      await audit(ctx, request, { action: 'encryption_key.rotate', orgId: userOf(request).orgId, target: { type: 'encryption_key', id: `v${rotated.version}` }, details: rotated.resealed });
      return rotated;
    },
  );

  app.post(
    '/v1/instance-admin/rotate',
    {
      config: { access: 'instance-admin', body: 'json' },
      schema: {
        tags: ['tenancy'],
        response: { 201: RotatedInstanceAdminToken },
        description: 'A new instance admin token, shown once; every earlier instance admin token (the caller included) is revoked.',
      },
    },
    async (request, reply) => {
      const auth = userOf(request);
      const id = newId('tok');
      const { token, secretHash } = mintCredential('t', id);
      const replaced = await ctx.store.replaceInstanceAdminToken({ id, orgId: auth.orgId, name: INSTANCE_ADMIN_TOKEN_NAME, secretHash });
      request.log.warn({ revoked: replaced.revoked, tokenId: id }, 'instance admin token rotated');
      await audit(ctx, request, { action: 'instance_admin.rotate', orgId: auth.orgId, target: { type: 'token', id }, details: { revoked: replaced.revoked } });
      return reply.code(201).send({ token: replaced.token, secret: token, revoked: replaced.revoked });
    },
  );
}
