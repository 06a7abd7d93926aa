import { ApiError, CreateSessionRequest, Ok, Session } from '@buildmesh/protocol';
import type { App } from '../http/app.js';
import type { ControllerContext } from '../context.js';
import { audit } from '../audit/record.js';
import { clearSessionCookie, liveApiToken, sessionAuth, sessionOf, startSession } from '../auth/sessions.js';

/** Dashboard sign-in and sign-out (auth/sessions.ts has the rules). */
export function registerSessionRoutes(app: App, ctx: ControllerContext): void {
  app.post(
    '/v1/sessions',
    {
      config: { access: 'public', body: 'json' },
      schema: {
        tags: ['tenancy'],
        body: CreateSessionRequest,
        response: { 201: Session },
        description: 'Exchanges an API token for a dashboard session cookie (HttpOnly, SameSite=Strict); answers its CSRF token.',
      },
    },
    async (request, reply) => {
      const token = await liveApiToken(ctx.store, request.body.token);
      if (!token) throw new ApiError('UNAUTHENTICATED', 'that token is unknown or revoked');
      const org = await ctx.store.getOrg(token.orgId);
      if (!org) throw new ApiError('UNAUTHENTICATED', 'that token is unknown or revoked');
      const { csrfToken, expiresAt } = await startSession(ctx.store, token, request, reply);
      await audit(ctx, request, { action: 'session.create', orgId: token.orgId, target: { type: 'token', id: token.id }, actor: { kind: 'token', id: token.id, name: token.name } });
      const { secretHash: _hash, ...info } = token;
      return reply.code(201).send({ org, token: info, csrfToken, expiresAt });
    },
  );

  app.get(
    '/v1/sessions/current',
    { config: { access: 'read' }, schema: { tags: ['tenancy'], response: { 200: Session } } },
    async (request) => {
      const current = sessionOf(request);
      if (!current) throw new ApiError('NOT_FOUND', 'this request carries no dashboard session');
      const token = await ctx.store.findToken(current.session.tokenId);
      const org = token && (await ctx.store.getOrg(token.orgId));
      if (!token || !org) throw new ApiError('UNAUTHENTICATED');
      const { secretHash: _hash, ...info } = token;
      return { org, token: info, csrfToken: current.csrfToken, expiresAt: current.session.expiresAt };
    },
  );

  // Public so that any role (read-only included) can sign out; the cookie and its CSRF token are checked here.
  app.delete(
    '/v1/sessions/current',
    { config: { access: 'public' }, schema: { tags: ['tenancy'], response: { 200: Ok } } },
    async (request, reply) => {
      const auth = await sessionAuth(ctx.store, request);
      const current = auth && sessionOf(request);
      if (current) await ctx.store.revokeSession(current.session.id);
      clearSessionCookie(request, reply);
      return { ok: true as const };
    },
  );
}
