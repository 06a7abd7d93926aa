import {
  ApiError,
  CreatedEnrollmentToken,
  CreateEnrollmentTokenRequest,
  EnrollmentTokenList,
  EnrollmentTokenParams,
  RevokedEnrollmentToken,
  RevokeEnrollmentTokenQuery,
} from '@buildmesh/protocol';
import type { App } from '../http/app.js';
import type { ControllerContext } from '../context.js';
import { audit } from '../audit/record.js';
import { userOf } from '../auth/roles.js';
import { mintCredential } from '../auth/tokens.js';
import { newId } from '../ids.js';

/** Worker enrollment tokens: for the org's private pool, or (instance admin only) the shared pool. */
export function registerEnrollmentTokenRoutes(app: App, ctx: ControllerContext): void {
  app.post(
    '/v1/enrollment-tokens',
    {
      config: { access: 'admin', body: 'json' },
      schema: { tags: ['workers'], body: CreateEnrollmentTokenRequest, response: { 201: CreatedEnrollmentToken } },
    },
    async (request, reply) => {
      const auth = userOf(request);
      const pool = request.body.pool ?? 'org';
      if (pool === 'shared' && !auth.instanceAdmin) throw new ApiError('FORBIDDEN', 'only the instance admin may enroll shared-pool workers');
      const id = newId('enr');
      const { token, secretHash } = mintCredential('e', id);
      const info = await ctx.store.insertEnrollmentToken({ id, orgId: pool === 'shared' ? null : auth.orgId, name: request.body.name, pool, secretHash });
      await audit(ctx, request, { action: 'enrollment_token.create', orgId: info.orgId, target: { type: 'enrollment_token', id }, details: { name: info.name, pool } });
      return reply.code(201).send({ enrollmentToken: info, secret: token });
    },
  );

  app.get(
    '/v1/enrollment-tokens',
    { config: { access: 'admin' }, schema: { tags: ['workers'], response: { 200: EnrollmentTokenList } } },
    async (request) => {
      const auth = userOf(request);
      return { enrollmentTokens: await ctx.store.listEnrollmentTokens(auth.orgId, auth.instanceAdmin) };
    },
  );

  app.delete(
    '/v1/enrollment-tokens/:id',
    {
      config: { access: 'admin' },
      schema: { tags: ['workers'], params: EnrollmentTokenParams, querystring: RevokeEnrollmentTokenQuery, response: { 200: RevokedEnrollmentToken } },
    },
    async (request) => {
      const auth = userOf(request);
      const revoked = await ctx.store.revokeEnrollmentToken(auth.orgId, request.params.id, auth.instanceAdmin, request.query.andWorkers === true);
      if (!revoked) throw new ApiError('NOT_FOUND', 'no such enrollment token');
      // Their credentials already fail every request; end their waiting claims now too.
      for (const workerId of revoked.revokedWorkers) ctx.waiters.dropWorker(workerId);
      await audit(ctx, request, {
        action: 'enrollment_token.revoke',
        orgId: revoked.enrollmentToken.orgId,
        target: { type: 'enrollment_token', id: revoked.enrollmentToken.id },
        details: { name: revoked.enrollmentToken.name, revokedWorkers: revoked.revokedWorkers },
      });
      return { ...revoked.enrollmentToken, revokedWorkers: revoked.revokedWorkers };
    },
  );
}
