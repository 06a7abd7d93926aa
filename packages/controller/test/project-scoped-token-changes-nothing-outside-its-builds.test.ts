/**
 * A token an OIDC exchange minted for one project (`trust add --project app`) submits, cancels and
 * retries builds of that project, and changes nothing else: before, such a CI identity could set
 * another project's secrets (what its next production build runs with), replace its signing
 * credentials, set its app version, and cancel or retry its builds — everything a member can.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, BuildMeshClient } from '@buildmesh/protocol';
import { startLoopbackIssuer } from '../../../test/helpers/oidc-issuer.js';
import { startControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, streamOf, tinyTarGz } from './helpers/fixtures.js';

const AUD = 'buildmesh-scope';

async function code(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'ALLOWED',
    (e: unknown) => (e instanceof ApiError ? e.code : String(e)),
  );
}

test('a project-scoped token submits, cancels and retries its own builds and changes nothing else', { timeout: 120_000 }, async () => {
  const issuer = await startLoopbackIssuer();
  const controller = await startControllerProcess({ env: { BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS: '1' } });
  try {
    const tenant = await createTenant(controller, 'scoped');
    await tenant.admin.createTrustRule({ name: 'app-ci', issuer: issuer.issuer, audience: AUD, condition: 'repository == "acme/app"', role: 'member', project: 'app', ttlSeconds: 600 });
    const anon = new BuildMeshClient({ url: controller.url, timeoutMs: 10_000 });
    const ci = anon.withToken((await anon.exchangeOidcToken(await issuer.sign({ sub: 'repo:acme/app', repository: 'acme/app', aud: AUD }), tenant.org.id)).token);

    const other = await tenant.member.createBuild(buildSpec({ project: 'prod' }), streamOf(await tinyTarGz('prod')));
    await tenant.member.setSecret('prod', 'API_URL', 'https://api.example');

    // Outside its builds: refused, and nothing changed.
    assert.equal(await code(ci.setSecret('prod', 'API_URL', 'https://attacker.example')), 'FORBIDDEN');
    assert.equal(await code(ci.setSecret('prod', 'NEW_ONE', 'x')), 'FORBIDDEN');
    assert.equal(await code(ci.deleteSecret('prod', 'API_URL')), 'FORBIDDEN');
    assert.equal(await code(ci.setAppVersion('prod', 'android', 999)), 'FORBIDDEN');
    assert.equal(await code(ci.deleteCredentials('prod', 'android')), 'FORBIDDEN');
    assert.equal(await code(ci.setSecret('app', 'X', 'y')), 'FORBIDDEN');
    assert.equal(await code(ci.createProject('newproj')), 'FORBIDDEN');
    assert.equal(await code(ci.cancelBuild(other.id)), 'FORBIDDEN');
    assert.equal(await code(ci.listSecrets('prod')), 'FORBIDDEN');
    assert.deepEqual((await tenant.member.listSecrets('prod')).secrets.map((s) => s.name), ['API_URL']);
    assert.equal((await tenant.member.getBuild(other.id)).status, 'queued');
    assert.ok(!(await tenant.member.listProjects()).projects.some((p) => p.name === 'newproj'));

    // Its own builds: submitted, canceled, retried.
    const own = await ci.createBuild(buildSpec({ project: 'app' }), streamOf(await tinyTarGz('app')));
    assert.equal((await ci.cancelBuild(own.id)).status, 'canceled');
    assert.equal((await ci.retryBuild(own.id)).project, 'app');
    // Reads stay as they were.
    assert.equal((await ci.getBuild(other.id)).id, other.id);
  } finally {
    await controller.dispose();
    await issuer.close();
  }
});
