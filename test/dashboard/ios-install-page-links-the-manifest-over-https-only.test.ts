/**
 * In real Chromium: an iOS build's install page. Over plain HTTP it says over-the-air install needs HTTPS
 * and shows no itms-services link; behind a TLS-terminating proxy (the page at https://mesh.test, the
 * proxy played by Playwright's routing with X-Forwarded-Proto/Host to a controller that trusts it) it
 * shows the itms-services link whose manifest — fetched with no session, as an iPhone does — names the
 * app and an https:// .ipa link that downloads the uploaded bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Page } from 'playwright-core';
import { startTestController } from '../helpers/controller.js';
import { makeFixtureProject } from '../helpers/builds.js';
import { chromiumSkip, newPage, openBrowser, ProtocolWorker, screenshot, signIn, submitFor, tokenWithRole } from '../helpers/dashboard.js';

const HTTPS_ORIGIN = 'https://mesh.test';
const TITLE = 'Shop <b>beta</b> & "co"';

/** Serves https://mesh.test/… from the controller as a TLS proxy would (event streams are not needed here). */
async function behindTls(page: Page, controllerUrl: string): Promise<void> {
  await page.route(`${HTTPS_ORIGIN}/**`, async (route) => {
    const request = route.request();
    if (request.url().includes('/events')) return route.abort();
    const headers = { ...(await request.allHeaders()), 'x-forwarded-proto': 'https', 'x-forwarded-host': 'mesh.test' };
    const response = await route.fetch({ url: request.url().replace(HTTPS_ORIGIN, controllerUrl), headers, maxRedirects: 0 });
    await route.fulfill({ response });
  });
}

void test('the iOS install page links the itms-services manifest over HTTPS and says HTTPS is needed over HTTP', { skip: chromiumSkip }, async (t) => {
  const controller = await startTestController(t, { env: { BUILDMESH_TRUSTED_PROXIES: '127.0.0.1' } });
  const worker = await ProtocolWorker.enroll(controller, ['ios']);
  const build = await submitFor(controller.admin, makeFixtureProject(t, ['true']), { platform: 'ios', message: 'TestFlight-free beta', project: 'shop-app' });
  const job = await worker.claim();
  assert.equal(job.build.id, build.id);
  const ipa = randomBytes(120_000);
  const sha256 = createHash('sha256').update(ipa).digest('hex');
  const app = { bundleId: 'com.example.shop', version: '2.3.0', build: '45', title: TITLE };
  await worker.client.uploadArtifact(job.attempt.id, { name: 'Shop.ipa', kind: 'application-archive', size: ipa.length, sha256, stream: Readable.from([ipa]), app });
  await worker.finish(job);

  const browser = await openBrowser(t);
  const token = await tokenWithRole(controller, 'read-only');

  // Plain HTTP: the note, no itms-services link, the .ipa download.
  const { page: plain } = await newPage(browser, { mobile: true });
  await signIn(plain, controller.url, token);
  await plain.goto(`${controller.url}/install/${build.id}`);
  await plain.getByTestId('https-note').waitFor();
  assert.match(await plain.getByTestId('https-note').innerText(), /only from an HTTPS address.*plain HTTP/s);
  assert.equal(await plain.locator('a[href^="itms-services:"]').count(), 0, 'no link iOS would refuse');
  assert.ok((await plain.getByText(`${TITLE} 2.3.0 (45)`).count()) === 1, 'the app title renders as text');
  assert.match((await plain.getByRole('link', { name: /Download Shop\.ipa/ }).getAttribute('href')) ?? '', /\/v1\/install\//);
  await screenshot(plain, 'install-ios-http');

  // HTTPS behind a trusted TLS proxy: the link.
  const { page: phone } = await newPage(browser, { mobile: true });
  await behindTls(phone, controller.url);
  await signIn(phone, HTTPS_ORIGIN, token);
  await phone.goto(`${HTTPS_ORIGIN}/install/${build.id}`);
  const install = phone.getByRole('link', { name: `Install ${TITLE} on this iPhone` });
  await install.waitFor();
  assert.equal(await phone.getByTestId('https-note').count(), 0);
  const href = (await install.getAttribute('href')) ?? '';
  const prefix = 'itms-services://?action=download-manifest&url=';
  assert.ok(href.startsWith(prefix), href);
  const manifestUrl = decodeURIComponent(href.slice(prefix.length));
  assert.match(manifestUrl, /^https:\/\/mesh\.test\/v1\/install\/[A-Za-z0-9_-]+\/manifest\.plist$/);
  await screenshot(phone, 'install-ios');

  // What the iPhone then fetches, through the same proxy, with no cookie or token.
  const viaProxy = (url: string) => fetch(url.replace(HTTPS_ORIGIN, controller.url), { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'mesh.test' } });
  const manifest = await viaProxy(manifestUrl);
  assert.equal(manifest.status, 200);
  const xml = await manifest.text();
  assert.ok(xml.includes('<key>title</key><string>Shop &lt;b&gt;beta&lt;/b&gt; &amp; &quot;co&quot;</string>'), xml);
  assert.ok(xml.includes('<key>bundle-identifier</key><string>com.example.shop</string>'));
  const ipaUrl = /<key>url<\/key><string>([^<]+)<\/string>/.exec(xml)?.[1] ?? '';
  assert.equal(ipaUrl, manifestUrl.replace(/\/manifest\.plist$/, ''));
  const downloaded = await viaProxy(ipaUrl);
  assert.equal(downloaded.status, 200);
  assert.equal(createHash('sha256').update(Buffer.from(await downloaded.arrayBuffer())).digest('hex'), sha256);
});
