/**
 * In real Chromium against a real controller and worker: sign in with a member token, find the
 * running build in the list, watch its log grow on the page without a reload, cancel it from the
 * page and see it canceled. Screenshots of the sign-in, builds and build pages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestController } from '../helpers/controller.js';
import { startTestWorker, waitForWorkerOnline } from '../helpers/worker.js';
import { makeFixtureProject, submitBuild, waitForStatus } from '../helpers/builds.js';
import { chromiumSkip, newPage, openBrowser, screenshot, signIn, tokenWithRole } from '../helpers/dashboard.js';

void test('sign in, watch a running build log grow live, cancel it from the page', { skip: chromiumSkip }, async (t) => {
  const controller = await startTestController(t);
  const worker = startTestWorker(t, { url: controller.url, enrollmentToken: await controller.enrollmentToken() });
  await waitForWorkerOnline(controller.admin, worker);
  const project = makeFixtureProject(t, [
    { id: 'tick', name: 'Tick', command: 'for i in $(seq 1 3000); do printf "tick %s \\033[32mgreen\\033[0m\\n" $i; sleep 0.05; done' },
  ]);
  const build = await submitBuild(controller.admin, project, { project: 'shop-app' });
  await waitForStatus(controller.admin, build.id, 'running');

  const browser = await openBrowser(t);
  const { page } = await newPage(browser);
  await page.goto(controller.url);
  await page.getByLabel('API token').waitFor();
  await screenshot(page, 'sign-in');
  await signIn(page, controller.url, await tokenWithRole(controller, 'member'));
  const stored = await page.evaluate('JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie');
  assert.equal(stored, '{}{}', 'no token or session readable by the page');

  // The list shows it running; its link opens the build page.
  const row = page.locator(`tr[data-build="${build.id}"]`);
  await row.locator('[data-status="running"]').waitFor();
  assert.match(await row.innerText(), /shop-app[\s\S]*by instance-admin/, 'project and submitter (the admin token) in the list');
  await screenshot(page, 'builds');
  // A build submitted now appears on the open page, pushed by the builds stream (no reload, no polling).
  const streams: string[] = [];
  page.on('request', (r) => r.url().includes('/v1/builds') && streams.push(new URL(r.url()).pathname));
  const pushed = await submitBuild(controller.admin, project, { project: 'shop-app' });
  await page.locator(`tr[data-build="${pushed.id}"] [data-status="queued"]`).waitFor({ timeout: 10_000 });
  assert.deepEqual(streams, [], 'the page asked for nothing: the stream it holds brought the build');
  await controller.admin.cancelBuild(pushed.id);
  await page.locator(`tr[data-build="${pushed.id}"] [data-status="canceled"]`).waitFor({ timeout: 10_000 });
  await row.getByRole('link').click();
  await page.waitForURL(`**/builds/${build.id}`);

  // The log grows on the page: a line, then a later one, with no reload in between.
  const log = page.getByTestId('log-scroll');
  await log.getByText(/^tick 5 green$/).waitFor({ timeout: 30_000 });
  const navigations: string[] = [];
  page.on('framenavigated', (f) => navigations.push(f.url()));
  await log.getByText(/^tick 40 green$/).waitFor({ timeout: 30_000 });
  assert.deepEqual(navigations, [], 'the page was not reloaded');
  const green = log.locator('.lt span').filter({ hasText: 'green' }).last();
  // (Runs in the page: the DOM types are not in this file's program.)
  type Styled = { parentElement: Styled | null };
  const colours = await green.evaluate((el: Styled) => {
    const style = (globalThis as unknown as { getComputedStyle(e: Styled): { color: string } }).getComputedStyle;
    return [style(el).color, style(el.parentElement!).color];
  });
  assert.notEqual(colours[0], colours[1], 'ANSI green is rendered as a colour');
  await screenshot(page, 'build-running');

  await page.getByRole('button', { name: 'Cancel build' }).click();
  await page.locator('.page-head [data-status="canceled"]').waitFor({ timeout: 30_000 });
  assert.equal((await controller.admin.getBuild(build.id)).status, 'canceled');
  await screenshot(page, 'build-canceled');
  // Retry opens the new build, which names the one it retries.
  await page.getByRole('button', { name: 'Retry' }).click();
  await page.waitForURL((url) => /\/builds\/bld_/.test(url.pathname) && !url.pathname.endsWith(build.id));
  await page.getByRole('link', { name: build.id }).waitFor();
  const retried = page.url().split('/').pop()!;
  assert.equal((await controller.admin.getBuild(retried)).retryOf, build.id);
  await page.goto(`${controller.url}/builds/${build.id}`);
  await page.locator('.page-head [data-status="canceled"]').waitFor();
  await page.emulateMedia({ colorScheme: 'dark' });
  await screenshot(page, 'build-canceled-dark');
  await page.goto(controller.url);
  await page.locator(`tr[data-build="${build.id}"] [data-status="canceled"]`).waitFor();
  await screenshot(page, 'builds-dark');
});
