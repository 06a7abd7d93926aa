/**
 * CI without a stored token: `admin trust add|list|rm` manage the org's trust rules, and
 * `build` with BUILDMESH_OIDC_TOKEN (or --oidc-token) exchanges a loopback issuer's ID token (the
 * controller allows loopback issuers) for a short-lived token and builds through a real worker; a
 * token outside the rule is refused by code.
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
  const built = await runCli(['build', project, '--platform', 'web', '--profile', 'test', '--project', 'fixture-app', '--no-download'], {
    env: { ...ciEnv, BUILDMESH_OIDC_TOKEN: await issuer.sign(claims) },
    timeoutMs: 120_000,
  });
  assert.equal(built.code, 0, `stdout:\n${built.stdout}\nstderr:\n${built.stderr}`);
  assert.match(built.stdout + built.stderr, /Signed in with the CI's OIDC token: role member for project fixture-app/);
  assert.match(built.stdout + built.stderr, /succeeded/i);

  const outside = await runCli(['build', project, '--platform', 'web', '--profile', 'test', '--project', 'fixture-app', '--no-wait', '--oidc-token', await issuer.sign({ ...claims, repository: 'evil/app' })], {
    env: ciEnv,
  });
  assert.notEqual(outside.code, 0);
  assert.match(outside.stderr, /OIDC_TOKEN_REFUSED/);

  const removed = await runCli(['admin', 'trust', 'rm', rule.id], { env: mesh.env });
  assert.equal(removed.code, 0, removed.stderr);
  assert.deepEqual((await runJson<{ rules: TrustRule[] }>(['admin', 'trust', 'list', '--json'], { env: mesh.env })).rules, []);
});
