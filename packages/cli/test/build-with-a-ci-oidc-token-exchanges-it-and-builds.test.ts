/**
 * CI without a stored token: `admin trust add|list|rm` manage the org's trust rules, and
 * `build` with BUILDMESH_OIDC_TOKEN (or --oidc-token) and BUILDMESH_ORG (or --org) exchanges a loopback
 * issuer's ID token (the controller allows loopback issuers) for a short-lived token of that org and builds
 * through a real worker; a token outside the rule is refused by code, and an exchange without an org is
 * refused before anything is sent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TrustRule } from '@buildmesh/protocol';
import { runCli, runJson } from './helpers/cli.js';
import { makeFixtureProject } from './helpers/fixture-project.js';
import { startMesh } from './helpers/mesh.js';
import { startLoopbackIssuer } from '../../../test/helpers/oidc-issuer.js';

void test('build --oidc-token exchanges a CI ID token matching a trust rule and builds; admin trust add, list and rm', async (t) => {
  const issuer = await startLoopbackIssuer();
  t.after(() => issuer.close());
  const mesh = await startMesh(t, { worker: true, controllerEnv: { BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS: '1' } });
  const project = makeFixtureProject(t);
  const condition = 'repository == "acme/app" && ref == "refs/heads/*"';

  const rule = await runJson<TrustRule>(
    ['admin', 'trust', 'add', 'app-main', '--issuer', issuer.issuer, '--condition', condition, '--project', 'fixture-app', '--ttl', '600', '--json'],
    { env: mesh.env },
  );
  assert.equal(rule.audience, 'buildmesh', 'the default audience');
  assert.equal(rule.ttlSeconds, 600);
  assert.deepEqual((await runJson<{ rules: TrustRule[] }>(['admin', 'trust', 'list', '--json'], { env: mesh.env })).rules.map((r) => r.id), [rule.id]);
  const table = await runCli(['admin', 'trust', 'list'], { env: mesh.env });
  assert.match(table.stdout, /app-main/);

  // No BUILDMESH_TOKEN: only the ID token.
  const ciEnv = { BUILDMESH_URL: mesh.url, XDG_CONFIG_HOME: mesh.configHome };
  const claims = { sub: 'repo:acme/app:ref:refs/heads/main', repository: 'acme/app', ref: 'refs/heads/main', aud: 'buildmesh' };
  const added = await runCli(['admin', 'trust', 'add', 'other', '--issuer', issuer.issuer, '--condition', 'repository == "x/y"'], { env: mesh.env });
  assert.match(added.stdout + added.stderr, new RegExp(`buildmesh build --org ${rule.orgId} --oidc-token`), 'the hint names the org');
  const unnamed = await runCli(['build', project, '--platform', 'web', '--profile', 'test', '--project', 'fixture-app', '--no-wait'], {
    env: { ...ciEnv, BUILDMESH_OIDC_TOKEN: await issuer.sign(claims) },
  });
  assert.notEqual(unnamed.code, 0);
  assert.match(unnamed.stderr, /ORG_REQUIRED/);
  assert.match(unnamed.stderr, /BUILDMESH_ORG/);

  const built = await runCli(['build', project, '--platform', 'web', '--profile', 'test', '--project', 'fixture-app', '--no-download'], {
    env: { ...ciEnv, BUILDMESH_OIDC_TOKEN: await issuer.sign(claims), BUILDMESH_ORG: rule.orgId },
    timeoutMs: 120_000,
  });
  assert.equal(built.code, 0, `stdout:\n${built.stdout}\nstderr:\n${built.stderr}`);
  assert.match(built.stdout + built.stderr, /Signed in with the CI's OIDC token: role member for project fixture-app/);
  assert.match(built.stdout + built.stderr, /succeeded/i);

  const outside = await runCli(
    ['build', project, '--platform', 'web', '--profile', 'test', '--project', 'fixture-app', '--no-wait', '--org', rule.orgId, '--oidc-token', await issuer.sign({ ...claims, repository: 'evil/app' })],
    { env: ciEnv },
  );
  assert.notEqual(outside.code, 0);
  assert.match(outside.stderr, /OIDC_TOKEN_REFUSED/);
  assert.match(outside.stderr, /BUILDMESH_ORG \(or --org\) names the org/, 'the hint says what to check');

  const removed = await runCli(['admin', 'trust', 'rm', rule.id], { env: mesh.env });
  assert.equal(removed.code, 0, removed.stderr);
  assert.equal((await runCli(['admin', 'trust', 'rm', (await runJson<{ rules: TrustRule[] }>(['admin', 'trust', 'list', '--json'], { env: mesh.env })).rules[0]!.id], { env: mesh.env })).code, 0);
  assert.deepEqual((await runJson<{ rules: TrustRule[] }>(['admin', 'trust', 'list', '--json'], { env: mesh.env })).rules, []);
});
