/**
 * In real Chromium: a read-only session sees the org's builds, workers and settings but no write
 * control, and a write forged from the page (with the session's own CSRF token) is refused; another
 * org's build URL shows "Not found"; a build message and a log line carrying HTML and script render
 * as text and run nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildMeshClient } from '@buildmesh/protocol';
import { startTestController } from '../helpers/controller.js';
import { makeFixtureProject } from '../helpers/builds.js';
import { chromiumSkip, newPage, openBrowser, ProtocolWorker, screenshot, signIn, submitFor, tokenWithRole } from '../helpers/dashboard.js';

const HOSTILE = `<img src=x onerror="window.__pwned='message'"><script>window.__pwned='script'</script>`;

void test('read-only sees no write controls and a forged write is refused; other orgs are not found; HTML renders as text', { skip: chromiumSkip }, async (t) => {
  const controller = await startTestController(t);
  const worker = await ProtocolWorker.enroll(controller, ['android']);
  const project = makeFixtureProject(t, ['true']);
  const running = await submitFor(controller.admin, project, { platform: 'android', message: HOSTILE });
  const job = await worker.claim();
  await worker.log(job, [
    { text: '', phase: 'INSTALL', marker: 'START_PHASE' },
    { text: `<b>bold?</b><script>window.__pwned='log'</script>`, phase: 'INSTALL' },
    { text: `"><img src=x onerror="window.__pwned='log-img'">`, phase: 'INSTALL', stream: 'stderr' },
  ]);
  const queued = await submitFor(controller.admin, project, { platform: 'ios', message: 'waits for a mac' });

  // Another org, with a build of its own.
  const other = await controller.admin.createOrg('rival');
  const rivalToken = await controller.admin.createToken({ name: 'rival-admin', role: 'admin', orgId: other.id });
  const rival = new BuildMeshClient({ url: controller.url, token: rivalToken.secret });
  const rivalBuild = await submitFor(rival, project, { platform: 'web', message: 'secret rival build' });

  const browser = await openBrowser(t);
  const { page } = await newPage(browser);
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await signIn(page, controller.url, await tokenWithRole(controller, 'read-only'));

  // Hostile text is shown as text; nothing ran.
  await page.goto(`${controller.url}/builds/${running.id}`);
  await page.getByTestId('log-scroll').getByText(`<b>bold?</b><script>window.__pwned='log'</script>`).waitFor();
  assert.equal(await page.locator('h1.build-message').innerText(), HOSTILE);
  assert.equal(await page.locator('.build-page img, .build-page script, .log b').count(), 0, 'no element was made from build text');
  assert.equal(await page.evaluate('window.__pwned'), undefined);
  await screenshot(page, 'build-hostile-text');

  // Read-only: no write controls anywhere.
  assert.equal(await page.getByRole('button', { name: /cancel/i }).count(), 0);
  await page.goto(`${controller.url}/builds/${queued.id}`);
  await page.getByText('in the queue').waitFor();
  await screenshot(page, 'build-queued');
  assert.equal(await page.getByRole('button', { name: /cancel|retry/i }).count(), 0);
  await page.goto(`${controller.url}/workers`);
  await page.getByText('tester-', { exact: false }).first().waitFor();
  assert.equal(await page.getByRole('button', { name: /revoke/i }).count(), 0);
  await screenshot(page, 'workers');
  await page.goto(`${controller.url}/settings`);
  await page.getByRole('heading', { name: 'Projects' }).waitFor();
  assert.equal(await page.getByRole('button', { name: /create|revoke|delete|set secret/i }).count(), 0);
  assert.equal(await page.getByRole('heading', { name: 'API tokens' }).count(), 0);
  await page.goto(`${controller.url}/queue`);
  await page.getByText('waits for a mac').waitFor();
  await screenshot(page, 'queue');

  // A write forged from the page, with the session's own CSRF token, is refused by the API.
  const forged = await page.evaluate(async (id) => {
    const session = (await (await fetch('/v1/sessions/current')).json()) as { csrfToken: string };
    const res = await fetch(`/v1/builds/${id}/cancel`, { method: 'POST', headers: { 'x-buildmesh-csrf': session.csrfToken } });
    return { status: res.status, body: await res.text() };
  }, queued.id);
  assert.equal(forged.status, 403, forged.body);
  assert.equal((await controller.admin.getBuild(queued.id)).status, 'queued');

  // Another org's build: not found, and nothing of it on the page.
  await page.goto(`${controller.url}/builds/${rivalBuild.id}`);
  await page.getByText('Not found').first().waitFor();
  assert.ok(!(await page.content()).includes('secret rival build'));
  await screenshot(page, 'build-not-found');
  await page.goto(`${controller.url}/install/${rivalBuild.id}`);
  await page.getByText('Not found').first().waitFor();
  assert.deepEqual(dialogs, [], 'no script opened a dialog');

  // An admin sees the write controls the read-only session did not.
  const admin = await newPage(browser);
  await signIn(admin.page, controller.url, await tokenWithRole(controller, 'admin'));
  await admin.page.goto(`${controller.url}/settings`);
  await admin.page.getByRole('heading', { name: 'API tokens' }).waitFor();
  await admin.page.getByLabel('Name').first().fill('ci-bot');
  await admin.page.getByRole('button', { name: 'Create token' }).click();
  const secret = await admin.page.getByTestId('new-secret').innerText();
  assert.match(secret, /^bmt_/);
  assert.equal((await new BuildMeshClient({ url: controller.url, token: secret }).whoami()).token.name, 'ci-bot');
  await screenshot(admin.page, 'settings');
  await admin.page.goto(`${controller.url}/workers`);
  await admin.page.getByRole('button', { name: /Revoke worker/ }).waitFor();

  // Every control on every page has an accessible name, and the keyboard reaches the main navigation first.
  for (const path of ['/', `/builds/${running.id}`, '/workers', '/queue', '/settings']) {
    await admin.page.goto(controller.url + path);
    await admin.page.locator('main#main h1').first().waitFor();
    await admin.page.locator('main .skeleton').waitFor({ state: 'detached' });
    const unnamed = await admin.page.evaluate(`[...document.querySelectorAll('button, input, select, a[href]')]
      .filter((el) => !(el.getAttribute('aria-label') || el.textContent.trim() || (el.labels && el.labels.length) || el.getAttribute('title')))
      .map((el) => el.outerHTML.slice(0, 120))`);
    assert.deepEqual(unnamed, [], `${path}: controls without a name`);
  }
  await admin.page.goto(controller.url);
  await admin.page.locator('tr[data-build]').first().waitFor();
  await admin.page.keyboard.press('Tab');
  await admin.page.keyboard.press('Tab');
  assert.equal(await admin.page.evaluate('document.activeElement.textContent'), 'Builds', 'Tab reaches the navigation');
});
