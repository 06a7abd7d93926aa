/**
 * iOS over-the-air install: an .ipa uploaded with its Info.plist facts gets an itms-services manifest
 * behind the install link's grant — no token or session, every value XML-escaped, the .ipa it names
 * downloads those bytes; the grant expires and opens nothing of another artifact, build or org. App
 * info in a bad form is refused with VALIDATION_FAILED before a byte is stored. The direct upload to an
 * S3 bucket (s3rver) records it the same way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IosAppInfo } from '@buildmesh/protocol';
import { KEY_FILE_NAME, parseKeyFile } from '../src/crypto/keyring.js';
import { mintInstallGrant } from '../src/auth/install-grants.js';
import { renderInstallManifest, xmlEscape } from '../src/install/ios-manifest.js';
import { startControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, enrollWorker, keepLeased, streamOf, tinyTarGz } from './helpers/fixtures.js';
import { rejectsWith } from './helpers/expect.js';
import { blobState } from './helpers/data-dir.js';
import { startS3 } from '../../../test/helpers/s3.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const HOSTILE_TITLE = `Shop</string><key>url</key><string>https://evil.example/x.ipa</string> & "quotes" 'apos' ✓`;

/** The <string> after <key>name</key> in a manifest, unescaped (the five entities this file writes). */
function manifestValue(xml: string, key: string): string | undefined {
  const m = new RegExp(`<key>${key}</key><string>([^<]*)</string>`).exec(xml);
  return m?.[1]!.replace(/&(lt|gt|quot|apos|amp);/g, (_e, n: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[n]!);
}

void test('the manifest escapes every value, including characters XML cannot carry', () => {
  const app: IosAppInfo = { bundleId: 'com.example.shop', version: '1.0', build: '7', title: HOSTILE_TITLE };
  const xml = renderInstallManifest('https://mesh.example/v1/install/abc?x=1&y=<2>', app);
  assert.ok(!xml.includes('evil.example/x.ipa</string>'), 'the title cannot close its element');
  assert.equal((xml.match(/<key>url<\/key>/g) ?? []).length, 1, 'one url key: the title added none');
  assert.equal(manifestValue(xml, 'title'), HOSTILE_TITLE);
  assert.equal(manifestValue(xml, 'url'), 'https://mesh.example/v1/install/abc?x=1&y=<2>');
  assert.equal(manifestValue(xml, 'bundle-identifier'), 'com.example.shop');
  assert.equal(manifestValue(xml, 'bundle-version'), '1.0');
  assert.equal(manifestValue(xml, 'kind'), 'software-package');
  assert.equal(xmlEscape('a\u0000b\u0008c\ud800d\ufffee\u{1f600}'), 'a\ufffdb\ufffdc\ufffdd\ufffde\u{1f600}');
  // The protocol refuses such a bundle id or version on upload; the manifest would escape them anyway.
  const hostileId = 'com.x</string><key>url</key><string>https://evil.example/y.ipa';
  const escaped = renderInstallManifest('https://mesh.example/i', { ...app, bundleId: hostileId, version: '1"&<' });
  assert.equal((escaped.match(/<key>url<\/key>/g) ?? []).length, 1);
  assert.equal(manifestValue(escaped, 'bundle-identifier'), hostileId);
  assert.equal(manifestValue(escaped, 'bundle-version'), '1"&<');
});

void test('an .ipa with app info gets a signed manifest link that works without credentials, expires and names only its artifact', async () => {
  const controller = await startControllerProcess();
  let stop = (): void => {};
  try {
    const acme = await createTenant(controller, 'acme');
    const other = await createTenant(controller, 'other');
    const worker = await enrollWorker(acme.admin, { platforms: ['ios'] });
    const build = await acme.member.createBuild(buildSpec({ platform: 'ios' }), streamOf(await tinyTarGz()));
    const job = await worker.client.claim(2000);
    assert.equal(job?.build.id, build.id);
    const attemptId = job!.attempt.id;
    stop = keepLeased(worker, attemptId);
    const ipa = randomBytes(300_000);
    const app: IosAppInfo = { bundleId: 'com.example.shop', version: '2.3.0', build: '45', title: HOSTILE_TITLE };
    const upload = (name: string, bytes: Buffer, a: IosAppInfo | undefined, kind: 'application-archive' | 'other' = 'application-archive') =>
      worker.client.uploadArtifact(attemptId, { name, kind, size: bytes.length, sha256: sha(bytes), stream: streamOf(bytes), ...(a ? { app: a } : {}) });

    // App info in a bad form, or on what is not an .ipa archive: refused, nothing stored.
    const before = await blobState(controller.dataDir);
    for (const [what, bad] of [
      ['a bundle id with markup', { ...app, bundleId: 'com.x"><script>' }],
      ['a bundle id with an empty part', { ...app, bundleId: 'com..x' }],
      ['a version with a space', { ...app, version: '1 .0' }],
      ['a title with a control character', { ...app, title: 'Shop\nInjected' }],
      ['a 201-character title', { ...app, title: 'x'.repeat(201) }],
    ] as const) {
      await rejectsWith(upload('Shop.ipa', ipa, bad), 'VALIDATION_FAILED', what);
    }
    await rejectsWith(upload('app.apk', ipa, app), 'VALIDATION_FAILED', 'app info on an .apk');
    await rejectsWith(upload('Shop.ipa', ipa, app, 'other'), 'VALIDATION_FAILED', 'app info on a non-archive');
    const partial = await fetch(`${controller.url}/v1/attempts/${attemptId}/artifacts/Shop.ipa?kind=application-archive&appBundleId=com.example.shop`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${worker.credential}`, 'content-type': 'application/octet-stream', 'x-buildmesh-sha256': sha(ipa) },
      body: ipa,
    });
    assert.equal(partial.status, 400);
    assert.equal(((await partial.json()) as { error: { code: string } }).error.code, 'VALIDATION_FAILED');
    // The direct (presigned) path checks the same contract before it looks at the upload.
    await rejectsWith(
      acme.admin.withToken(worker.credential).json('POST', `/v1/attempts/${attemptId}/artifacts/Shop.ipa/uploads/complete`, { json: { uploadId: 'x', kind: 'application-archive', app: { ...app, bundleId: '<x>' } } }),
      'VALIDATION_FAILED',
    );
    assert.deepEqual(await blobState(controller.dataDir), before, 'refused uploads leave no blob');

    const stored = await upload('Shop.ipa', ipa, app);
    assert.deepEqual(stored.app, app);
    const apk = randomBytes(1000);
    const plain = await upload('Shop-unsigned.ipa', apk, undefined);
    await worker.client.finish(attemptId, { outcome: 'succeeded' });
    stop();

    // The reader's install link carries a manifest link for the .ipa with app info only.
    const link = await acme.reader.installLink(build.id, stored.id);
    assert.equal(link.manifestUrl, `${link.url}/manifest.plist`);
    assert.equal((await acme.reader.installLink(build.id, plain.id)).manifestUrl, undefined);

    // No credentials: what an iPhone has.
    const manifest = await fetch(link.manifestUrl!);
    assert.equal(manifest.status, 200);
    assert.match(manifest.headers.get('content-type') ?? '', /^text\/xml/);
    const xml = await manifest.text();
    assert.equal(manifestValue(xml, 'title'), HOSTILE_TITLE);
    assert.equal(manifestValue(xml, 'bundle-identifier'), 'com.example.shop');
    assert.equal(manifestValue(xml, 'bundle-version'), '2.3.0');
    assert.equal((xml.match(/<key>url<\/key>/g) ?? []).length, 1);
    const ipaUrl = manifestValue(xml, 'url')!;
    assert.equal(ipaUrl, link.url);
    const downloaded = await fetch(ipaUrl);
    assert.equal(downloaded.status, 200);
    assert.equal(sha(Buffer.from(await downloaded.arrayBuffer())), sha(ipa), 'the manifest names these bytes');

    // Grants minted with the instance key: expired, for another org, another build, an artifact without app info.
    const keyring = parseKeyFile(readFileSync(join(controller.dataDir, KEY_FILE_NAME), 'utf8'), KEY_FILE_NAME);
    const orgId = acme.org.id;
    const at = (grant: string) => `${controller.url}/v1/install/${grant}/manifest.plist`;
    const where = { orgId, buildId: build.id, artifactId: stored.id };
    assert.equal((await fetch(at(mintInstallGrant(keyring, where, Date.now() + 60_000)))).status, 200, 'a grant minted here opens');
    assert.equal((await fetch(at(mintInstallGrant(keyring, where, Date.now() - 1)))).status, 404, 'expired');
    assert.equal((await fetch(at(mintInstallGrant(keyring, { ...where, orgId: other.org.id }, Date.now() + 60_000)))).status, 404, 'another org');
    const otherBuild = await acme.member.createBuild(buildSpec({ platform: 'ios' }), streamOf(await tinyTarGz('x')));
    assert.equal((await fetch(at(mintInstallGrant(keyring, { ...where, buildId: otherBuild.id }, Date.now() + 60_000)))).status, 404, 'another build');
    assert.equal((await fetch(at(mintInstallGrant(keyring, { ...where, artifactId: plain.id }, Date.now() + 60_000)))).status, 404, 'no app info');
    const altered = link.manifestUrl!.replace(/\/v1\/install\/(.)/, (_m, c: string) => `/v1/install/${c === 'A' ? 'B' : 'A'}`);
    assert.equal((await fetch(altered)).status, 404, 'altered');
  } finally {
    stop();
    await controller.dispose();
  }
});

void test('with an S3 blob store the direct (presigned) upload records the same app info, and the manifest names it', async () => {
  const s3 = await startS3();
  const controller = await startControllerProcess({ env: { ...s3.env, BUILDMESH_BLOB_URL: s3.blobUrl('mesh') } });
  let stop = (): void => {};
  try {
    const acme = await createTenant(controller, 'acme');
    const worker = await enrollWorker(acme.admin, { platforms: ['ios'] });
    const build = await acme.member.createBuild(buildSpec({ platform: 'ios' }), streamOf(await tinyTarGz()));
    const job = await worker.client.claim(2000);
    assert.equal(job?.build.id, build.id);
    stop = keepLeased(worker, job!.attempt.id);
    const ipa = randomBytes(50_000);
    const app: IosAppInfo = { bundleId: 'com.example.direct', version: '1.0', build: '1', title: 'Direct & <Co>' };
    // The ticket says direct: the bytes go to the bucket, the app info with the complete call.
    assert.equal((await worker.client.json<{ mode: string }>('POST', `/v1/attempts/${job!.attempt.id}/artifacts/App.ipa/uploads`, { json: { sha256: sha(ipa), size: ipa.length } })).mode, 'direct');
    const stored = await worker.client.uploadArtifact(job!.attempt.id, { name: 'App.ipa', kind: 'application-archive', size: ipa.length, sha256: sha(ipa), stream: streamOf(ipa), app });
    assert.deepEqual(stored.app, app);
    await worker.client.finish(job!.attempt.id, { outcome: 'succeeded' });
    const link = await acme.reader.installLink(build.id, stored.id);
    const xml = await (await fetch(link.manifestUrl!)).text();
    assert.equal(manifestValue(xml, 'title'), 'Direct & <Co>');
    assert.equal(manifestValue(xml, 'bundle-identifier'), 'com.example.direct');
  } finally {
    stop();
    await controller.dispose();
    await s3.close();
  }
});
