/**
 * In real Chromium: an Android build's artifact downloads from the build page with the sha256 the
 * page shows, and its install page (desktop and phone-sized) shows a QR code that — read back from a
 * screenshot with jsQR — decodes to that artifact's download link.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import jsQRModule from 'jsqr';
import { startTestController } from '../helpers/controller.js';
import { makeFixtureProject } from '../helpers/builds.js';
import { chromiumSkip, newPage, openBrowser, ProtocolWorker, screenshot, signIn, submitFor, tokenWithRole } from '../helpers/dashboard.js';

// jsqr is CommonJS with a TypeScript `export default`: at run time the function is the module itself.
const jsQR = jsQRModule as unknown as typeof jsQRModule.default;

void test('download an artifact from the page (sha256 verified) and scan the install QR code', { skip: chromiumSkip }, async (t) => {
  const controller = await startTestController(t);
  const worker = await ProtocolWorker.enroll(controller, ['android']);
  const build = await submitFor(controller.admin, makeFixtureProject(t, ['true']), { platform: 'android', message: 'Release candidate 2.3', project: 'shop-app' });
  const job = await worker.claim();
  assert.equal(job.build.id, build.id);
  await worker.log(job, [
    { text: '', phase: 'RUN_GRADLE', marker: 'START_PHASE' },
    { text: '> Task :app:assembleRelease', phase: 'RUN_GRADLE' },
    { text: 'BUILD SUCCESSFUL in 41s', phase: 'RUN_GRADLE' },
    { text: '', phase: 'RUN_GRADLE', marker: 'END_PHASE', result: 'success', durationMs: 41_000 },
  ]);
  const apk = randomBytes(200_000);
  const sha256 = await worker.upload(job, 'app-release.apk', apk);
  await worker.finish(job);
  const [artifact] = (await controller.admin.listArtifacts(build.id)).artifacts;

  const browser = await openBrowser(t);
  const { page } = await newPage(browser, { downloads: true });
  await signIn(page, controller.url, await tokenWithRole(controller, 'read-only'));
  await page.goto(`${controller.url}/builds/${build.id}`);
  await page.getByText('app-release.apk').waitFor();
  assert.ok((await page.locator('.artifacts').innerText()).includes(sha256), 'the page shows the sha256');
  await screenshot(page, 'build-succeeded');

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download' }).click()]);
  assert.equal(download.suggestedFilename(), 'app-release.apk');
  const saved = readFileSync((await download.path())!);
  assert.equal(createHash('sha256').update(saved).digest('hex'), sha256);
  // The signed provenance statement, opened on the page, names this artifact and its sha256.
  await page.getByText('Signed provenance').click();
  const statement = page.getByLabel('Provenance statement of app-release.apk');
  await statement.waitFor();
  const shown = JSON.parse(await statement.innerText()) as { predicateType: string; subject: Array<{ name: string; digest: { sha256: string } }> };
  assert.deepEqual(shown.subject, [{ name: 'app-release.apk', digest: { sha256 } }]);
  assert.equal(shown.predicateType, 'https://slsa.dev/provenance/v1');

  const link = `${controller.url}/v1/builds/${build.id}/artifacts/${artifact!.id}`;
  await page.getByRole('link', { name: 'Install' }).click();
  await page.waitForURL(`**/install/${build.id}`);
  for (const [name, view] of [
    ['install', page],
    ['install-phone', (await newPage(browser, { mobile: true })).page],
  ] as const) {
    if (view !== page) {
      await signIn(view, controller.url, await tokenWithRole(controller, 'read-only'));
      await view.goto(`${controller.url}/install/${build.id}`);
    }
    const qr = view.getByTestId('qr');
    await qr.waitFor();
    await screenshot(view, name);
    const png = PNG.sync.read(await qr.screenshot());
    const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data ?? '';
    // The code carries an install link: it downloads this artifact with no token or session (a tester's phone).
    assert.match(decoded, new RegExp(`^${controller.url}/v1/install/[A-Za-z0-9_-]+$`), `${name}: the QR code is an install link`);
    assert.equal(await view.getByRole('link', { name: /Download app-release\.apk/ }).getAttribute('href'), decoded);
    const fetched = await fetch(decoded);
    assert.equal(fetched.status, 200);
    assert.match(fetched.headers.get('content-disposition') ?? '', /^attachment; filename="app-release\.apk"/);
    assert.equal(createHash('sha256').update(Buffer.from(await fetched.arrayBuffer())).digest('hex'), sha256);
    // An altered link opens nothing.
    const altered = decoded.replace(/.(.)$/, (_m, last: string) => (last === 'A' ? 'BB' : 'AA').slice(0, 2));
    assert.equal((await fetch(altered)).status, 404);
  }
  assert.equal((await fetch(link)).status, 401, 'the plain artifact URL still needs a token or session');

  // A line link opens its line; a failed build opens its failed phase with the error line marked, and folds the others.
  await page.goto(`${controller.url}/builds/${build.id}#L3`);
  await page.locator('.log-line.target').getByText('BUILD SUCCESSFUL in 41s').waitFor();
  const failing = await submitFor(controller.admin, makeFixtureProject(t, ['true']), { platform: 'android', message: 'Broken', project: 'shop-app' });
  const failingJob = await worker.claim();
  assert.equal(failingJob.build.id, failing.id);
  await worker.log(failingJob, [
    { text: '', phase: 'INSTALL_DEPENDENCIES', marker: 'START_PHASE' },
    { text: 'added 1200 packages', phase: 'INSTALL_DEPENDENCIES' },
    { text: '', phase: 'INSTALL_DEPENDENCIES', marker: 'END_PHASE', result: 'success', durationMs: 9000 },
    { text: '', phase: 'RUN_GRADLE', marker: 'START_PHASE' },
    { text: 'e: Unresolved reference: Foo', phase: 'RUN_GRADLE', stream: 'stderr' },
    { text: 'FAILURE: Build failed with an exception.', phase: 'RUN_GRADLE', stream: 'stderr' },
    { text: '', phase: 'RUN_GRADLE', marker: 'END_PHASE', result: 'failed', durationMs: 30_000 },
    { text: '', phase: 'ON_BUILD_ERROR_HOOK', marker: 'START_PHASE' },
    { text: 'no hook', phase: 'ON_BUILD_ERROR_HOOK' },
    { text: '', phase: 'ON_BUILD_ERROR_HOOK', marker: 'END_PHASE', result: 'success', durationMs: 10 },
  ]);
  await worker.finish(failingJob, 'failed');
  await page.goto(`${controller.url}/builds/${failing.id}`);
  const failedLog = page.getByTestId('log-scroll');
  await failedLog.locator('.log-line.error').getByText('FAILURE: Build failed with an exception.').waitFor();
  assert.equal(await failedLog.locator('.log-line.error').count(), 2, 'both error lines are marked');
  assert.equal(await failedLog.getByText('added 1200 packages').count(), 0, 'the successful phase before it is folded');
  assert.equal(await page.locator('.phase-toggle', { hasText: 'Install dependencies' }).getAttribute('aria-expanded'), 'false');
  assert.equal(await page.locator('.phase-toggle', { hasText: 'Run gradle' }).getAttribute('aria-expanded'), 'true');
  await page.locator('.phase-toggle', { hasText: 'Install dependencies' }).click();
  await failedLog.getByText('added 1200 packages').waitFor();
  await screenshot(page, 'build-failed');

  const phone = (await newPage(browser, { mobile: true })).page;
  await signIn(phone, controller.url, await tokenWithRole(controller, 'member'));
  await phone.locator(`tr[data-build="${build.id}"]`).waitFor();
  await screenshot(phone, 'builds-phone');
  await phone.goto(`${controller.url}/builds/${build.id}`);
  await phone.getByText('app-release.apk').waitFor();
  await screenshot(phone, 'build-phone');
});
