/**
 * The web dashboard in headless Chromium (Debian's, driven by playwright-core) against a real
 * controller; the builds and logs are made by a worker the benchmark speaks for (ProtocolWorker):
 *
 *  - dashboard_js_gzip_kb: gzip'd size of every script the first load of the builds page fetches.
 *  - dashboard_builds_1k_ms: the org has 1,000 builds; navigation start → the builds table is painted
 *    (dashboard_builds_1k_fcp_ms: the browser's first contentful paint, for reference).
 *  - dashboard_log_500k_ms: a finished build with a 500,000-line log; navigation start → every line
 *    loaded and the view scrolled to the last line; dashboard_log_500k_fetch_ms: of which until the last
 *    log page had arrived (pages are chained: this includes the page parsing the ones before);
 *    dashboard_log_500k_inflight_ms: the log pages' time in flight, request sent → last byte, summed (the
 *    controller, the network, and a busy page reading slowly); dashboard_log_500k_heap_mb: the page's JS
 *    heap then.
 *  - dashboard_live_lag_ms: median of 20 lines, the worker posting one → the line on the page
 *    (dashboard_live_lag_max_ms: the slowest). Both clocks are this machine's.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import type { LogLine } from '@buildmesh/protocol';
import { startTestController, type TestController } from '../test/helpers/controller.js';
import { makeFixtureProject } from '../test/helpers/builds.js';
import { CHROMIUM, ProtocolWorker, signIn, submitFor, tokenWithRole } from '../test/helpers/dashboard.js';
import { ROOT } from './support/processes.js';
import { Scope } from './support/mesh.js';
import { median } from './support/measure.js';

const BUILDS = 1000;
const LOG_LINES = 500_000;
const LOG_BATCH = 20_000;
const LIVE_SAMPLES = 20;

/** Records, inside the page, when the first element matching a selector or holding a text appears. */
const WATCH = `
  window.__seen = {};
  new MutationObserver(() => {
    for (const key of Object.keys(window.__watch || {})) {
      if (window.__seen[key]) continue;
      const w = window.__watch[key];
      const hit = w.selector ? document.querySelector(w.selector) : document.body && document.body.textContent.includes(w.text);
      if (hit) window.__seen[key] = { now: performance.now(), epoch: Date.now() };
    }
  }).observe(document, { subtree: true, childList: true, characterData: true });
  window.__watch = { rows: { selector: 'tr[data-build]' }, loaded: { text: '500,000 lines' } };
`;

async function watch(page: Page, key: string, what: { selector?: string; text?: string }): Promise<void> {
  await page.evaluate(([k, w]) => ((globalThis as unknown as { __watch: Record<string, unknown> }).__watch[k as string] = w), [key, what] as const);
}

async function seen(page: Page, key: string, timeoutMs = 60_000): Promise<{ now: number; epoch: number }> {
  const handle = await page.waitForFunction((k) => (globalThis as unknown as { __seen: Record<string, unknown> }).__seen[k], key, { timeout: timeoutMs, polling: 50 });
  return (await handle.jsonValue()) as { now: number; epoch: number };
}

async function seedBuilds(controller: TestController, dir: string): Promise<void> {
  for (let i = 0; i < BUILDS; i += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, BUILDS - i) }, (_, k) =>
        submitFor(controller.admin, dir, { platform: (['android', 'ios', 'web'] as const)[(i + k) % 3]!, message: `Build ${i + k}: fix the checkout flow` }),
      ),
    );
  }
}

function logLine(i: number): Partial<LogLine> & { text: string } {
  const phase = `PHASE_${Math.floor(i / 100_000) + 1}`;
  const text =
    i % 997 === 0
      ? `\x1b[33mwarning\x1b[0m: deprecated API used in module ${i} (see https://example.invalid/docs/${i})`
      : `> Task :app:compile${i % 50}Kotlin — processing source file number ${i} of ${LOG_LINES}`;
  return { text, phase, t: 1_700_000_000_000 + i };
}

export async function benchDashboard(): Promise<Record<string, number>> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM} (Debian: apt-get install chromium)`);
  const scope = new Scope();
  try {
    const controller = await startTestController(scope, { timing: { leaseTtlMs: 60_000, heartbeatIntervalMs: 1000, claimWaitMs: 30_000 } });
    const project = makeFixtureProject(scope, ['true']);
    const worker = await ProtocolWorker.enroll(controller, ['android']);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage', '--enable-precise-memory-info'] });
    scope.after(() => browser.close());
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    await context.addInitScript(WATCH);
    const page = await context.newPage();
    await signIn(page, controller.url, await tokenWithRole(controller, 'member'));

    // A 500,000-line log on a finished build (submitted first: it is claimed before the 1,000 others).
    const big = await submitFor(controller.admin, project, { platform: 'android', message: 'The big log' });
    const bigJob = await worker.claim();
    for (let i = 0; i < LOG_LINES; i += LOG_BATCH) await worker.log(bigJob, Array.from({ length: LOG_BATCH }, (_, k) => logLine(i + k)));
    await worker.finish(bigJob);

    // A running build for the live lag.
    const live = await submitFor(controller.admin, project, { platform: 'android', message: 'Live' });
    const liveJob = await worker.claim();
    await worker.log(liveJob, [{ text: '', phase: 'LIVE', marker: 'START_PHASE' }]);

    await seedBuilds(controller, project);

    // First load of the builds page: scripts and time to the painted table.
    const fresh = await context.newPage();
    await fresh.goto(controller.url, { waitUntil: 'commit' });
    const rows = await seen(fresh, 'rows');
    const fcp = await fresh.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN);
    const scripts = await fresh.evaluate(() => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname).filter((p) => p.endsWith('.js')));
    const dist = join(ROOT, 'packages/dashboard/dist');
    const jsGzipBytes = scripts.reduce((sum, p) => sum + statSync(join(dist, `${p}.gz`)).size, 0);
    await fresh.close();

    // The 500,000-line log: open, load every line, jump to the end.
    const logPage = await context.newPage();
    await logPage.goto(`${controller.url}/builds/${big.id}`, { waitUntil: 'commit' });
    await seen(logPage, 'loaded');
    await logPage.getByRole('button', { name: 'Jump to end' }).click();
    await logPage.locator(`#L${LOG_LINES + 10}, #L${LOG_LINES}`).first().waitFor({ timeout: 30_000 });
    const logMs = await logPage.evaluate(() => performance.now());
    // Where the time went: the last log page's arrival (the controller reading and sending) vs the page's own work.
    const fetchedMs = await logPage.evaluate(() =>
      Math.max(...performance.getEntriesByType('resource').filter((e) => e.name.includes('/logs')).map((e) => (e as unknown as { responseEnd: number }).responseEnd)),
    );
    const inFlightMs = await logPage.evaluate(() =>
      performance
        .getEntriesByType('resource')
        .filter((e) => e.name.includes('/logs'))
        .reduce((sum, e) => sum + (e as unknown as { responseEnd: number; requestStart: number }).responseEnd - (e as unknown as { requestStart: number }).requestStart, 0),
    );
    const heapBytes = await logPage.evaluate(() => (performance as unknown as { memory: { usedJSHeapSize: number } }).memory.usedJSHeapSize);
    await logPage.close();

    // Live lag: a line posted by the worker → on the page.
    const livePage = await context.newPage();
    await livePage.goto(`${controller.url}/builds/${live.id}`);
    await livePage.getByTestId('log-scroll').waitFor();
    const lags: number[] = [];
    for (let i = 0; i < LIVE_SAMPLES; i++) {
      const text = `live line ${i} ${Math.random().toString(36).slice(2)}`;
      await watch(livePage, text, { text });
      const sentAt = Date.now();
      await worker.log(liveJob, [{ text, phase: 'LIVE' }]);
      lags.push((await seen(livePage, text, 10_000)).epoch - sentAt);
      await new Promise((r) => setTimeout(r, 100));
    }
    await worker.finish(liveJob);

    return {
      dashboard_js_gzip_kb: Math.round((jsGzipBytes / 1024) * 10) / 10,
      dashboard_builds_1k_ms: Math.round(rows.now),
      dashboard_builds_1k_fcp_ms: Math.round(fcp),
      dashboard_log_500k_ms: Math.round(logMs),
      dashboard_log_500k_fetch_ms: Math.round(fetchedMs),
      dashboard_log_500k_inflight_ms: Math.round(inFlightMs),
      dashboard_log_500k_heap_mb: Math.round(heapBytes / 1024 / 1024),
      dashboard_live_lag_ms: Math.round(median(lags)),
      dashboard_live_lag_max_ms: Math.max(...lags),
    };
  } finally {
    await scope.close();
  }
}
