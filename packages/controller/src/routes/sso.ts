import { Type } from 'typebox';
import { ApiError } from '@buildmesh/protocol';
import type { App } from '../http/app.js';
import type { ControllerContext } from '../context.js';
import { audit } from '../audit/record.js';
import { SESSION_TTL_MS, startSession } from '../auth/sessions.js';
import { SSO_COOKIE, SSO_LOGIN_TTL_MS, Sso } from '../auth/sso.js';
import { mintCredential } from '../auth/tokens.js';
import { newId } from '../ids.js';

const CALLBACK = '/v1/sso/callback';
const CliQuery = Type.Object({
  cli_port: Type.Optional(Type.Integer({ minimum: 1024, maximum: 65535 })),
  cli_state: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{16,128}$' })),
});

/**
 * Dashboard single sign-on (auth/sso.ts has the rules): /v1/sso/login sends the browser to the
 * identity provider; /v1/sso/callback redeems the answer, maps the user's claims to an org and
 * role, and signs them in with the same session as token sign-in (backed by a token of that role
 * that expires with the session). Sign-out is DELETE /v1/sessions/current, as for token sessions.
 */
export function registerSsoRoutes(app: App, ctx: ControllerContext): void {
  const o = ctx.options;
  const sso = new Sso({ issuer: o.oidcIssuer, clientId: o.oidcClientId, clientSecret: o.oidcClientSecret, roleMapping: o.oidcRoleMapping }, ctx.keyring);
  const redirectUri = (request: { protocol: string; host: string }) => `${request.protocol}://${request.host}${CALLBACK}`;

  app.get('/v1/sso', { config: { access: 'public' }, schema: { tags: ['tenancy'], response: { 200: Type.Object({ enabled: Type.Boolean() }) } } }, async () => ({
    enabled: sso.enabled,
  }));

  app.get(
    '/v1/sso/login',
    {
      config: { access: 'public' },
      schema: {
        tags: ['tenancy'],
        querystring: CliQuery,
        description: '302 to the identity provider. With cli_port and cli_state (buildmesh login --sso) the sign-in ends with an API token sent to http://127.0.0.1:<cli_port>/callback instead of a session.',
      },
    },
    async (request, reply) => {
      const q = request.query;
      const cli = q.cli_port !== undefined && q.cli_state !== undefined ? { port: q.cli_port, state: q.cli_state } : undefined;
      const { url, cookie } = await sso.start(redirectUri(request), cli);
      // Lax, not Strict: the provider's redirect back is a cross-site navigation that must carry it.
      reply.setCookie(SSO_COOKIE, cookie, { httpOnly: true, sameSite: 'lax', secure: request.protocol === 'https', path: CALLBACK, maxAge: SSO_LOGIN_TTL_MS / 1000 });
      return reply.redirect(url, 302);
    },
  );

  app.get(CALLBACK, { config: { access: 'public' }, schema: { tags: ['tenancy'], description: "The identity provider's redirect back." } }, async (request, reply) => {
    const current = new URL(request.url, redirectUri(request));
    reply.clearCookie(SSO_COOKIE, { path: CALLBACK });
    const { claims, cli } = await sso.finish(current, request.cookies?.[SSO_COOKIE]);
    const subject = String(claims.sub);
    const who = typeof claims.email === 'string' ? claims.email : subject;
    const rule = sso.map(claims);
    const org = rule && (await ctx.store.getOrgByName(rule.org));
    if (!rule || !org) throw new ApiError('FORBIDDEN', `${who} may not sign in here: no BUILDMESH_OIDC_ROLE_MAPPING rule names an existing org for this account`);
    const id = newId('tok');
    const minted = mintCredential('t', id);
    const { secretHash } = minted;
    await ctx.store.insertToken({
      id,
      orgId: org.id,
      name: `sso:${who}`.slice(0, 200),
      role: rule.role,
      instanceAdmin: false,
      secretHash,
      expiresAt: new Date(Date.now() + SESSION_TTL_MS).toISOString(),
    });
    const token = (await ctx.store.findToken(id))!;
    if (cli) {
      // The CLI's loopback listener gets the API token (it checks the state it sent); no session.
      const { token: secret } = minted;
      await audit(ctx, request, { action: 'session.create', orgId: org.id, target: { type: 'token', id }, actor: { kind: 'sso', id: subject, name: who }, details: { issuer: o.oidcIssuer, role: rule.role, via: 'cli' } });
      const back = new URL(`http://127.0.0.1:${cli.port}/callback`);
      back.searchParams.set('state', cli.state);
      back.searchParams.set('token', secret);
      return reply.redirect(back.href, 302);
    }
    await startSession(ctx.store, token, request, reply);
    await audit(ctx, request, {
      action: 'session.create',
      orgId: org.id,
      target: { type: 'token', id },
      actor: { kind: 'sso', id: subject, name: who },
      details: { issuer: o.oidcIssuer, role: rule.role },
    });
    // The session cookie is SameSite=Strict: a same-site page load (not this cross-site redirect) carries it.
    return reply
      .type('text/html; charset=utf-8')
      .send('<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=/"><title>Signed in</title><p>Signed in. <a href="/">Continue</a></p>');
  });
}
