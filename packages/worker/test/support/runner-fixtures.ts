/**
 * A real workspace and a real NoneExecutor for runner tests, plus a minimal BuildJob
 * (plain data, as the controller would send it) and a collector for log lines.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BuildJob, LogLine } from '@buildmesh/protocol';
import { BuildLog } from '../../src/runner/build-log.js';
import type { Masker } from '../../src/runner/mask-secrets.js';
import { PhaseRunner } from '../../src/runner/run-phases.js';
import { NoneExecutor } from '../../src/sandbox/none.js';
import { createWorkspace, type Workspace } from '../../src/workspace/workspace.js';

export function tempDir(t: { after(fn: () => void): void }, prefix = 'buildmesh-worker-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function sampleJob(overrides: { profile?: Partial<BuildJob['build']['profile']>; env?: Record<string, string>; platform?: BuildJob['build']['platform'] } = {}): BuildJob {
  return {
    attempt: { id: 'att_0000000000000000000000test', number: 1, leaseExpiresAt: new Date(Date.now() + 60_000).toISOString() },
    build: {
      id: 'bld_0000000000000000000000test',
      project: 'sample',
      platform: overrides.platform ?? 'web',
      profileName: 'ci',
      profile: { name: 'ci', env: {}, ...overrides.profile },
      env: overrides.env ?? {},
      timeoutSeconds: 3600,
      source: { sha256: '0'.repeat(64), size: 0 },
      hasCredentials: false,
      message: null,
      gitCommit: null,
    },
    timing: { heartbeatIntervalMs: 1000, leaseTtlMs: 5000, claimWaitMs: 1000 },
  };
}

export interface RunnerHarness {
  workspace: Workspace;
  lines: LogLine[];
  runner: PhaseRunner;
  controller: AbortController;
  executor: NoneExecutor;
}

/** A PhaseRunner over a fresh workspace in a temp dir, a NoneExecutor with a short kill grace, lines collected. */
export async function runnerHarness(
  t: { after(fn: () => void | Promise<void>): void },
  options: { env?: Record<string, string>; mask?: Masker; killGraceMs?: number } = {},
): Promise<RunnerHarness> {
  const root = tempDir(t);
  const workspace = await createWorkspace(root, 'att_harness');
  const executor = new NoneExecutor({ killGraceMs: options.killGraceMs ?? 500 });
  await executor.prepare(workspace.root);
  t.after(() => executor.dispose());
  const lines: LogLine[] = [];
  const log = new BuildLog((line) => lines.push(line), options.mask ?? ((s) => s));
  const controller = new AbortController();
  const runner = new PhaseRunner({
    executor,
    log,
    context: { job: sampleJob(), projectDir: workspace.projectDir, workspaceRoot: workspace.root, env: options.env ?? {} },
    signal: controller.signal,
  });
  return { workspace, lines, runner, controller, executor };
}

/** Output lines (stdout/stderr) of one phase, text only. */
export function outputOf(lines: LogLine[], phase?: string): string[] {
  return lines.filter((l) => (l.stream === 'stdout' || l.stream === 'stderr') && (phase === undefined || l.phase === phase)).map((l) => l.text);
}

export function markers(lines: LogLine[]): Array<{ phase: string | undefined; marker: string; result?: string; exitCode?: number | null }> {
  return lines
    .filter((l) => l.marker)
    .map((l) => ({ phase: l.phase, marker: l.marker!, ...(l.result ? { result: l.result } : {}), ...(l.exitCode !== undefined ? { exitCode: l.exitCode } : {}) }));
}
