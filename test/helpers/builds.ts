/**
 * Fixture projects with a custom build config (.eas/build/<name>.yml), packed with node-tar
 * into a tar.gz and submitted with the real client; plus reading a build's log back.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { create as createTar } from 'tar';
import type { Build, BuildMeshClient, BuildStatus, CreateBuildSpec, LogEntry, ResolvedProfile } from '@buildmesh/protocol';
import { waitFor } from './wait.js';

type T = { after(fn: () => void | Promise<void>): void };

/** A custom-config step: a command string, or the object form. */
export type FixtureStep = string | { name?: string; id?: string; command: string; env?: Record<string, string>; working_directory?: string; timeout_minutes?: number };

/** YAML for `build.steps` (JSON is valid YAML, and quoting stays exact). */
export function customConfigYaml(steps: FixtureStep[], name = 'e2e'): string {
  return JSON.stringify({ build: { name, steps: steps.map((s) => ({ run: s })) } }, null, 2) + '\n';
}

/** A project directory with package.json, the custom config `ci.yml` and any extra files. */
export function makeFixtureProject(t: T, steps: FixtureStep[], files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'buildmesh-e2e-project-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const all: Record<string, string> = {
    'package.json': JSON.stringify({ name: 'fixture', version: '1.0.0', private: true }, null, 2),
    '.eas/build/ci.yml': customConfigYaml(steps),
    ...files,
  };
  for (const [rel, content] of Object.entries(all)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  return dir;
}

/** The project as a gzip'd tar stream, entries relative to the project root (as the CLI packs it). */
export async function packProject(dir: string): Promise<AsyncIterable<Uint8Array>> {
  const entries = await readdir(dir);
  return createTar({ gzip: true, cwd: dir, portable: true }, entries) as unknown as AsyncIterable<Uint8Array>;
}

export interface SubmitOptions {
  project?: string;
  platform?: CreateBuildSpec['platform'];
  profile?: Partial<ResolvedProfile>;
  env?: Record<string, string>;
  timeoutSeconds?: number;
  maxAttempts?: number;
}

export async function submitBuild(client: BuildMeshClient, projectDir: string, options: SubmitOptions = {}): Promise<Build> {
  return client.createBuild(
    {
      project: options.project ?? 'fixture',
      platform: options.platform ?? 'web',
      profile: { name: 'ci', env: {}, config: 'ci.yml', ...options.profile },
      ...(options.env ? { env: options.env } : {}),
      ...(options.timeoutSeconds ? { timeoutSeconds: options.timeoutSeconds } : {}),
      ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    },
    await packProject(projectDir),
  );
}

export async function waitForStatus(client: BuildMeshClient, buildId: string, status: BuildStatus | BuildStatus[], timeoutMs = 30_000): Promise<Build> {
  const wanted = Array.isArray(status) ? status : [status];
  let last: Build | undefined;
  return waitFor(
    async () => {
      last = await client.getBuild(buildId);
      return wanted.includes(last.status) ? last : undefined;
    },
    { timeoutMs, what: `build ${buildId} to be ${wanted.join(' or ')}` },
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last seen: ${JSON.stringify(last)}`);
  });
}

/** Every log entry of the build, paging with the cursor until the end. */
export async function readAllLogs(client: BuildMeshClient, buildId: string): Promise<LogEntry[]> {
  const entries: LogEntry[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await client.readLogs(buildId, { cursor, limit: 1000 });
    for (const entry of page.entries) entries.push(entry);
    if (page.entries.length === 0 || page.nextCursor === cursor) return entries;
    cursor = page.nextCursor;
  }
}

/** The text of stdout/stderr lines (not the worker's system lines, not markers). */
export const outputLines = (entries: LogEntry[]): string[] =>
  entries.filter((e) => e.stream === 'stdout' || e.stream === 'stderr').map((e) => e.text);
