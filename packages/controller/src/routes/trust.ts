import { ApiError, CreateTrustRuleRequest, OidcExchangeRequest, OidcExchangeResponse, TrustRule, TrustRuleList, TrustRuleParams } from '@buildmesh/protocol';
import type { FastifyRequest } from 'fastify';
import type { App } from '../http/app.js';
import type { ControllerContext } from '../context.js';
import { audit, auditAtMost } from '../audit/record.js';
import { userOf } from '../auth/roles.js';
import { ExchangeRefused, issuerAddressRefused, issuerUrlAllowed, OidcExchanger } from '../auth/oidc-exchange.js';
import { ConditionError, parseCondition } from '../auth/trust-condition.js';
import { newId } from '../ids.js';
import { nowIso } from '../store/rows.js';

/** Default lifetime of an exchanged token when the rule names none. */
export const DEFAULT_EXCHANGED_TOKEN_TTL_SECONDS = 900;
/** Claims copied into the audit entry of an exchange (never the token itself). */
const AUDITED_CLAIMS = ['sub', 'repository', 'ref', 'workflow', 'job_workflow_ref', 'run_id', 'project_path', 'pipeline_id', 'pipeline_slug', 'build_number'];

/**
 * CI identity: org admins manage trust rules; anyone may present an OIDC ID token to
 * /v1/oidc/exchange with the org it wants a token of (the ID token is the credential; only that org's
 * rules are tried). Every successful exchange is audited under the org; a refusal answers one generic
 * message, and its reason is audited under the org when the token's signature held (its claims are
 * then the issuer's, not the caller's), else logged by the controller at warn level.
 */
export function registerTrustRoutes(app: App, ctx: ControllerContext): void {
  const allowed = { private: ctx.options.oidcAllowPrivateIssuers === 1, loopback: ctx.options.oidcAllowLoopbackIssuers === 1 };
  const exchanger = new OidcExchanger(ctx.store, allowed);

  app.post(
    '/v1/trust-rules',
    { config: { access: 'admin', body: 'json' }, schema: { tags: ['tenancy'], body: CreateTrustRuleRequest, response: { 201: TrustRule } } },
    async (request, reply) => {
      const auth = userOf(request);
      const body = request.body;
      let orgId = auth.orgId;
      if (body.orgId !== undefined && body.orgId !== auth.orgId) {
        if (!auth.instanceAdmin || !(await ctx.store.getOrg(body.orgId))) throw new ApiError('NOT_FOUND', 'no such org');
        orgId = body.orgId;
      }
      if (!issuerUrlAllowed(body.issuer)) throw new ApiError('VALIDATION_FAILED', 'issuer must be an https URL (or http on a loopback host) without credentials, query or fragment');
      const unreachable = await issuerAddressRefused(body.issuer, allowed);
      if (unreachable) throw new ApiError('VALIDATION_FAILED', `issuer: ${unreachable}`);
      try {
        parseCondition(body.condition);
      } catch (err) {
        if (err instanceof ConditionError) throw new ApiError('VALIDATION_FAILED', `condition: ${err.message}`);
        throw err;
      }
      const rule = await ctx.store.insertTrustRule({
        id: newId('trr'),
        orgId,
        name: body.name,
        issuer: body.issuer,
        audience: body.audience,
        condition: body.condition,
        role: body.role,
        project: body.project ?? null,
        ttlSeconds: body.ttlSeconds ?? DEFAULT_EXCHANGED_TOKEN_TTL_SECONDS,
        createdAt: nowIso(),
      });
      await audit(ctx, request, { action: 'trust_rule.create', orgId, target: { type: 'trust_rule', id: rule.id }, details: { ...rule } });
      return reply.code(201).send(rule);
    },
  );

  app.get('/v1/trust-rules', { config: { access: 'admin' }, schema: { tags: ['tenancy'], response: { 200: TrustRuleList } } }, async (request) => {
    return { rules: await ctx.store.listTrustRules(userOf(request).orgId) };
  });

  app.delete(
    '/v1/trust-rules/:id',
    { config: { access: 'admin' }, schema: { tags: ['tenancy'], params: TrustRuleParams, response: { 200: TrustRule } } },
    async (request) => {
      const auth = userOf(request);
      const rule = await ctx.store.deleteTrustRule(auth.orgId, request.params.id);
      if (!rule) throw new ApiError('NOT_FOUND', 'no such trust rule');
      await audit(ctx, request, { action: 'trust_rule.delete', orgId: rule.orgId, target: { type: 'trust_rule', id: rule.id }, details: { name: rule.name } });
      return rule;
    },
  );

  app.post(
    '/v1/oidc/exchange',
    {
      config: { access: 'public', body: 'json' },
      bodyLimit: 32 * 1024,
      schema: {
        tags: ['tenancy'],
        body: OidcExchangeRequest,
        response: { 201: OidcExchangeResponse },
        description: "A CI job's OIDC ID token for a short-lived API token of the org it names (id or name), when a trust rule of that org matches its issuer, audience and claims; any refusal is one 401 OIDC_TOKEN_REFUSED.",
      },
    },
    async (request, reply) => {
      const { token, org } = request.body;
      try {
        const done = await exchanger.exchange(token, org);
        const actor = { kind: 'oidc', id: String(done.claims.sub), name: String(done.claims.iss) };
        await audit(ctx, request, {
          action: 'oidc.exchange',
          orgId: done.rule.orgId,
          actor,
          target: { type: 'token', id: done.tokenId },
          details: { rule: done.rule.id, ruleName: done.rule.name, role: done.rule.role, project: done.rule.project, expiresAt: done.expiresAt, claims: pick(done.claims) },
        });
        return reply.code(201).send({
          token: done.token,
          tokenId: done.tokenId,
          orgId: done.rule.orgId,
          role: done.rule.role,
          project: done.rule.project,
          expiresAt: done.expiresAt,
          ruleId: done.rule.id,
        });
      } catch (err) {
        if (err instanceof ExchangeRefused) await recordRefusal(ctx, request, err, org);
        throw err;
      }
    },
  );
}

/**
 * Refused exchanges the org's audit log records per minute: per CI identity (issuer's subject), so an
 * outsider's refusals cannot crowd out the org's own, and for the org in all (subjects are cheap to make
 * up); more go to the controller's log only.
 */
const REFUSALS_AUDITED = { perActorPerMinute: 30, perOrgPerMinute: 300 };

/**
 * Why an exchange was refused, never told to the anonymous caller: the org's audit log gets a token whose
 * signature held (a genuine CI identity of an issuer the org trusts, e.g. a branch no rule admits); any
 * other refusal (unknown org, issuer no rule names, bad signature, unreachable issuer) goes to the
 * controller's log, so nobody can fill an org's audit log with claims of their own making, and at most
 * REFUSALS_AUDITED a minute reach it (more are logged by the controller).
 */
async function recordRefusal(ctx: ControllerContext, request: FastifyRequest, err: ExchangeRefused, org: string): Promise<void> {
  const { orgId, verified } = err.context;
  if (!orgId || !verified) {
    request.log.warn({ org, orgId: orgId ?? null, reason: err.reason }, 'OIDC token exchange refused');
    return;
  }
  const about = { orgId, actor: { kind: 'oidc' as const, id: verified.subject, name: verified.issuer }, target: { type: 'issuer', id: verified.issuer } };
  // Anyone holding a genuine token of a trusted issuer can ask again and again: the org's log takes a bounded share.
  if (await auditAtMost(ctx, request, { ...about, action: 'oidc.exchange_refused', details: { reason: err.reason, claims: pick(verified.claims) } }, REFUSALS_AUDITED)) return;
  request.log.warn({ org, orgId, reason: err.reason }, 'OIDC token exchange refused');
  // The org learns that refusals are being dropped, once a minute: filling its share cannot hide that it was filled.
  const { perActorPerMinute, perOrgPerMinute } = REFUSALS_AUDITED;
  const reason = `more than ${perActorPerMinute} refused exchanges a minute of one CI identity, or ${perOrgPerMinute} of the org: the rest of this minute's are in the controller's log`;
  await auditAtMost(ctx, request, { ...about, action: 'oidc.exchange_refusals_dropped', details: { reason } }, { perActorPerMinute: 1, perOrgPerMinute: 1 });
}

function pick(claims: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of AUDITED_CLAIMS) if (typeof claims[name] === 'string' || typeof claims[name] === 'number') out[name] = claims[name];
  return out;
}
