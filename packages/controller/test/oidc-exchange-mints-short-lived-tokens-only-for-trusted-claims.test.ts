import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from 'jose';
import { ApiError, ApiErrors, BuildMeshClient } from '@buildmesh/protocol';
import { startLoopbackIssuer } from '../../../test/helpers/oidc-issuer.js';
import { startControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, enrollWorker, eventually, streamOf, tinyTarGz } from './helpers/fixtures.js';
import { refusal } from './helpers/expect.js';

const AUD = 'buildmesh-test';
const MAIN = { sub: 'repo:acme/app:ref:refs/heads/main', repository: 'acme/app', ref: 'refs/heads/main', aud: AUD };

test('a CI OIDC token matching a trust rule becomes a short-lived, project-scoped token that builds; anything else is refused', { timeout: 120_000 }, async () => {
  const issuer = await startLoopbackIssuer();
  const stranger = await startLoopbackIssuer();
  const controller = await startControllerProcess({ env: { BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS: '1' } });
  try {
    const tenant = await createTenant(controller, 'acme');
    const anon = new BuildMeshClient({ url: controller.url, timeoutMs: 10_000 });

    // Rules are an org admin's: validated, listed, and a member may not add one.
    const bad = await refusal(tenant.admin.createTrustRule({ name: 'bad', issuer: issuer.issuer, audience: AUD, condition: 'repository = "x"', role: 'member' }));
    assert.equal(bad.code, 'VALIDATION_FAILED');
    assert.match(bad.message, /expected == or !=/);
    const plainHttp = await refusal(tenant.admin.createTrustRule({ name: 'bad', issuer: 'http://issuer.example', audience: AUD, condition: 'ref == "x"', role: 'member' }));
    assert.equal(plainHttp.code, 'VALIDATION_FAILED');
    const byMember = await refusal(tenant.member.createTrustRule({ name: 'm', issuer: issuer.issuer, audience: AUD, condition: 'ref == "x"', role: 'member' }));
    assert.equal(byMember.code, 'FORBIDDEN');
    const rule = await tenant.admin.createTrustRule({
      name: 'app-main',
      issuer: issuer.issuer,
      audience: AUD,
      condition: 'repository == "acme/app" && ref == "refs/heads/main"',
      role: 'member',
      project: 'app',
      ttlSeconds: 6,
    });
    assert.deepEqual((await tenant.admin.listTrustRules()).rules.map((r) => r.id), [rule.id]);
    const dup = await refusal(tenant.admin.createTrustRule({ name: 'app-main', issuer: issuer.issuer, audience: AUD, condition: 'ref == "x"', role: 'member' }));
    assert.equal(dup.code, 'NAME_TAKEN');

    // Matching claims: a member token of the org, for project app, living ttlSeconds.
    const exchanged = await anon.exchangeOidcToken(await issuer.sign(MAIN), tenant.org.id);
    assert.equal(exchanged.orgId, tenant.org.id);
    assert.equal(exchanged.role, 'member');
    assert.equal(exchanged.project, 'app');
    assert.equal(exchanged.ruleId, rule.id);
    const ttl = Date.parse(exchanged.expiresAt) - Date.now();
    assert.ok(ttl > 0 && ttl <= 6000, `expires in ${ttl} ms`);
    const ci = anon.withToken(exchanged.token);
    assert.equal((await ci.whoami()).org.id, tenant.org.id);
    const worker = await enrollWorker(tenant.admin, { platforms: ['android'] });
    const build = await ci.createBuild(buildSpec({ project: 'app' }), streamOf(await tinyTarGz('oidc')));
    assert.equal(build.submittedBy, `oidc:app-main:${MAIN.sub}`);
    assert.equal((await worker.client.claim(3000))?.build.id, build.id);
    // Scoped: another project, and admin routes, are refused.
    assert.equal((await refusal(ci.createBuild(buildSpec({ project: 'other' }), streamOf(await tinyTarGz('other'))))).code, 'FORBIDDEN');
    assert.equal((await refusal(ci.listTokens())).code, 'FORBIDDEN');

    // Refusals: wrong audience, expired, claims outside the rule, unknown issuer, a forged signature, garbage,
    // an unknown org, an org without rules. The anonymous caller reads one answer for all of them (no oracle of
    // which orgs exist or which issuers they trust); why goes to the org's audit log when the signature held
    // (its claims are then the issuer's) and to the controller's log otherwise.
    const refused = async (token: string, org = tenant.org.id) => {
      const err = await refusal(anon.exchangeOidcToken(token, org));
      assert.equal(err.code, 'OIDC_TOKEN_REFUSED');
      assert.equal(err.status, 401);
      assert.equal(err.message, ApiErrors.OIDC_TOKEN_REFUSED.message);
    };
    await refused(await issuer.sign({ ...MAIN, aud: 'someone-else' }));
    const now = Math.floor(Date.now() / 1000);
    await refused(await issuer.sign({ ...MAIN, iat: now - 600, exp: now - 120 }));
    await refused(await issuer.sign({ ...MAIN, ref: 'refs/heads/feature' }));
    await refused(await issuer.sign({ ...MAIN, repository: 'acme/app-fork' }));
    await refused(await issuer.sign({ sub: MAIN.sub, ref: MAIN.ref, aud: AUD })); // a missing claim never matches
    await refused(await stranger.sign(MAIN));
    const forged = await generateKeyPair('ES256');
    await refused(await issuer.sign(MAIN, { key: forged.privateKey }));
    await refused('not.a.jwt');
    await refused(await issuer.sign(MAIN), 'no-such-org');
    await refused(await issuer.sign(MAIN), 'org_00000000000000000000000000');
    const bare = await controller.admin.createOrg('bare');
    await refused(await issuer.sign(MAIN), bare.id);
    await refused(await issuer.sign(MAIN), bare.name);
    await refused(await stranger.sign(MAIN), bare.id);

    // Keys were fetched once and cached across all of that.
    assert.equal(issuer.jwksFetches, 1);

    // The reasons the caller was not told: in the controller's log, for refusals that verified nothing.
    await eventually(async () => /OIDC token exchange refused/.test(controller.output()) || undefined, 5000, 'the refusals to be logged');
    const logged = controller.output();
    for (const reason of ['not a JWT', `no trust rule of the org (or no such org) names the issuer ${stranger.issuer}`, "signature does not verify with the issuer's keys"]) {
      assert.ok(logged.includes(reason), `the controller's log holds "${reason}"`);
    }

    // Audited: each exchange under the org; a verified token the org's rules refused, under the org too.
    const entries = (await tenant.admin.audit()).entries;
    const exchange = entries.filter((e) => e.action === 'oidc.exchange');
    assert.equal(exchange.length, 1);
    assert.equal(exchange[0]!.actorKind, 'oidc');
    assert.equal(exchange[0]!.actorId, MAIN.sub);
    assert.equal(exchange[0]!.actorName, issuer.issuer);
    assert.equal(exchange[0]!.targetId, exchanged.tokenId);
    assert.deepEqual((exchange[0]!.details as { claims: unknown }).claims, { sub: MAIN.sub, repository: 'acme/app', ref: 'refs/heads/main' });
    assert.ok(!JSON.stringify(entries).includes(exchanged.token), 'the token never reaches the log');
    const refusedEntries = entries.filter((e) => e.action === 'oidc.exchange_refused');
    assert.deepEqual(
      refusedEntries.map((e) => (e.details as { reason: string }).reason),
      [
        "the ID token's audience is not one a trust rule of the org for this issuer expects",
        'the ID token has expired',
        "no trust rule of the org matches the token's claims",
        "no trust rule of the org matches the token's claims",
        "no trust rule of the org matches the token's claims",
      ],
    );
    assert.ok(refusedEntries.every((e) => e.orgId === tenant.org.id && e.actorKind === 'oidc' && e.actorId === MAIN.sub && e.actorName === issuer.issuer));
    assert.deepEqual((refusedEntries[2]!.details as { claims: unknown }).claims, { sub: MAIN.sub, repository: 'acme/app', ref: 'refs/heads/feature' });
    // Nothing that failed to verify (forged, garbage, another issuer, another org) reached any org's audit log.
    assert.equal((await controller.admin.audit()).entries.filter((e) => e.action === 'oidc.exchange_refused').length, 5);

    // After its lifetime the token stops working (and the dashboard cannot be entered with it).
    await eventually(async () => (await ci.whoami().then(() => false, (e: unknown) => e instanceof ApiError && e.code === 'UNAUTHENTICATED')) || undefined, 15_000, 'the exchanged token to expire');
    assert.equal((await refusal(anon.createSession({ token: exchanged.token }))).status, 401);
    assert.ok(!(await tenant.admin.listTokens()).tokens.some((t) => t.id === exchanged.tokenId), 'expired tokens leave the list');

    // A removed rule trusts no more.
    await tenant.admin.deleteTrustRule(rule.id);
    await refused(await issuer.sign(MAIN));
    assert.equal((await tenant.admin.audit()).entries.filter((e) => e.action.startsWith('trust_rule.')).length, 2);
  } finally {
    await controller.dispose();
    await issuer.close();
    await stranger.close();
  }
});
