/**
 * Browser tests of the dashboard: Debian's Chromium driven by playwright-core (no browser download),
 * skipped with a reason where /usr/bin/chromium is missing, never under CI. Plus a worker that speaks
 * the protocol straight from the test (any platform, any artifact name, any log line) for pages that
 * need an Android build or a log of a chosen size, and screenshots of every page in .cache/screenshots.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { BuildMeshClient, type BuildJob, type LogLine, type Platform } from '@buildmesh/protocol';
import { skipUnless } from './system-services.js';
import type { TestController } from './controller.js';
import { packProject } from './builds.js';

type T = { after(fn: () => void | Promise<void>): void };

export const CHROMIUM = process.env.BUILDMESH_CHROMIUM ?? '/usr/bin/chromium';
/** node:test's `skip` option for every browser test. */
export const chromiumSkip = skipUnless(existsSync(CHROMIUM), `Chromium is missing at ${CHROMIUM} (Debian: apt-get install chromium)`);
export const SCREENSHOTS = join(new URL('../..', import.meta.url).pathname, '.cache', 'screenshots');

export async function openBrowser(t: T): Promise<Browser> {
  // Root in a container has no user namespaces for Chromium's own sandbox.
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  t.after(() => browser.close());
  return browser;
}

export async function newPage(browser: Browser, options: { mobile?: boolean; downloads?: boolean } = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    acceptDownloads: options.downloads ?? false,
    ...(options.mobile ? { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true } : { viewport: { width: 1360, height: 900 } }),
  });
  const page = await context.newPage();
  return { context, page };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Signs in through the form, as a person would. */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

/** Creates a token with the role in the admin's org; returns its secret. */
export async function tokenWithRole(controller: TestController, role: 'read-only' | 'member' | 'admin'): Promise<string> {
  const created = await controller.admin.createToken({ name: `${role.replace('-', '')}-${Math.random().toString(36).slice(2, 7)}`, role });
  return created.secret;
}

/** A worker that is the test itself: enrolls for any platforms, claims, posts log lines, uploads, finishes. */
export class ProtocolWorker {
  private constructor(
    readonly client: BuildMeshClient,
    readonly workerId: string,
  ) {}

  static async enroll(controller: TestController, platforms: Platform[], name = `tester-${Math.random().toString(36).slice(2, 6)}`): Promise<ProtocolWorker> {
    const enroll = new BuildMeshClient({ url: controller.url, token: await controller.enrollmentToken() });
    const caps = { name, platforms, labels: {}, concurrency: 1, version: 'test', toolchains: { node: process.version } };
    const enrolled = await enroll.enroll(caps);
    const client = new BuildMeshClient({ url: controller.url, token: enrolled.credential });
    await client.hello(caps);
    return new ProtocolWorker(client, enrolled.workerId);
  }

  async claim(): Promise<BuildJob> {
    for (let i = 0; i < 20; i++) {
      const job = await this.client.claim(2000);
      if (job) return job;
    }
    throw new Error('no build to claim');
  }

  private seq = new Map<string, number>();
  async log(job: BuildJob, lines: Array<Partial<LogLine> & { text: string }>): Promise<void> {
    const seq = (this.seq.get(job.attempt.id) ?? 0) + 1;
    this.seq.set(job.attempt.id, seq);
    await this.client.sendLogs(job.attempt.id, { seq, lines: lines.map((l) => ({ t: Date.now(), stream: 'stdout', ...l })) });
  }

  async upload(job: BuildJob, name: string, bytes: Buffer): Promise<string> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await this.client.uploadArtifact(job.attempt.id, { name, kind: 'application-archive', size: bytes.length, sha256, stream: Readable.from([bytes]) });
    return sha256;
  }

  async finish(job: BuildJob, outcome: 'succeeded' | 'failed' = 'succeeded'): Promise<void> {
    await this.client.finish(job.attempt.id, outcome === 'failed' ? { outcome, error: { code: 'STEP_FAILED', message: 'a step failed', phase: 'RUN' } } : { outcome });
  }
}

/** Submits a build with an empty project (for builds the test's own worker runs). */
export async function submitFor(client: BuildMeshClient, dir: string, spec: { platform: Platform; message?: string; project?: string }) {
  return client.createBuild(
    { project: spec.project ?? 'app', platform: spec.platform, profile: { name: 'preview', env: {} }, ...(spec.message ? { message: spec.message } : {}) },
    await packProject(dir),
  );
}
