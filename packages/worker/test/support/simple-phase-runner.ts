/**
 * Test-only: runs a pipeline plan for real with the simplest possible execution — each command
 * spawned with child_process in the project directory, each task run in-process — following the
 * plan's `always` semantics and classifying a failed phase by its own patterns. The real runner
 * (sandbox executors, log streaming) is tested elsewhere; this checks what the pipelines plan.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BuildJob, Platform, ResolvedProfile } from '@buildmesh/protocol';
import type { PipelinePlan } from '../../src/pipelines/index.js';
import type { Command, Phase, PhaseContext } from '../../src/runner/plan.js';

export interface PhaseOutcome {
  name: string;
  result: 'success' | 'failed' | 'warning' | 'skipped';
  lines: string[];
  durationMs?: number;
  error?: { code: string; explanation: string; message: string };
}

export interface RunOutcome {
  phases: PhaseOutcome[];
  succeeded: boolean;
  /** Every command run, as argv. */
  commands: string[][];
  error?: PhaseOutcome['error'] & { phase: string };
}

export function makeTempDir(t: { after(fn: () => void): void }, prefix = 'buildmesh-pipeline-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

let jobCounter = 0;

/** A leased job as the controller would hand it out, for one platform and profile. */
export function makeJob(platform: Platform, profile: Partial<ResolvedProfile> & { name?: string }): BuildJob {
  jobCounter += 1;
  const suffix = String(jobCounter).padStart(26, '0');
  const now = new Date().toISOString();
  return {
    attempt: { id: `att_${suffix}`, number: 1, leaseExpiresAt: now },
    build: {
      id: `bld_${suffix}`,
      project: 'fixture',
      platform,
      profileName: profile.name ?? 'production',
      profile: { name: 'production', env: {}, ...profile },
      env: {},
      timeoutSeconds: 3600,
      source: { sha256: '0'.repeat(64), size: 0 },
      hasCredentials: false,
      message: null,
      gitCommit: null,
    },
    timing: { heartbeatIntervalMs: 10000, leaseTtlMs: 60000, claimWaitMs: 30000 },
  };
}

function runCommand(command: Command, projectDir: string, env: Record<string, string>, log: (line: string) => void): Promise<number> {
  return new Promise((done) => {
    const child = spawn(command.argv[0]!, command.argv.slice(1), {
      cwd: resolve(projectDir, command.cwd ?? '.'),
      env: { ...process.env, npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false', ...env, ...command.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let pending = '';
    const onData = (chunk: Buffer) => {
      const text = pending + chunk.toString('utf8');
      const parts = text.split('\n');
      pending = parts.pop() ?? '';
      for (const line of parts) log(line);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => {
      log(`spawn ${command.argv[0]} ${(err as NodeJS.ErrnoException).code ?? ''}`);
      done(127);
    });
    child.on('close', (code) => {
      if (pending) log(pending);
      done(code ?? 1);
    });
  });
}

function shouldRun(phase: Phase, failed: boolean): boolean {
  if (phase.always === 'always') return true;
  if (phase.always === 'on-failure') return failed;
  return !failed;
}

export async function runPlanSimply(plan: PipelinePlan, job: BuildJob, projectDir: string, workspaceRoot: string): Promise<RunOutcome> {
  const env = { ...plan.env };
  const outcome: RunOutcome = { phases: [], succeeded: true, commands: [] };
  const controller = new AbortController();
  for (const phase of plan.phases) {
    if (!shouldRun(phase, !outcome.succeeded)) {
      outcome.phases.push({ name: phase.name, result: 'skipped', lines: [] });
      continue;
    }
    const lines: string[] = [];
    const started = Date.now();
    const log = (line: string) => lines.push(line);
    const exec: PhaseContext['exec'] = async (command) => {
      const code = await runCommand(command, projectDir, env, log);
      if (code !== 0) throw Object.assign(new Error(`${command.argv.join(' ')} exited with ${code}`), { code: 'STEP_FAILED' });
      return { outputs: {} };
    };
    const ctx: PhaseContext = { job, projectDir, workspaceRoot, env, log, signal: controller.signal, exec };
    let failure: string | null = null;
    let taskCode: string | null = null;
    for (const step of phase.steps) {
      if (step.kind === 'command') {
        outcome.commands.push(step.command.argv);
        const code = await runCommand(step.command, projectDir, env, log);
        if (code !== 0) failure = `${step.command.argv.join(' ')} exited with ${code}`;
      } else {
        try {
          await step.run(ctx);
        } catch (err) {
          failure = (err as Error).message;
          taskCode = (err as { code?: string }).code ?? null;
          log(failure);
        }
      }
      if (failure) break;
    }
    if (!failure) {
      outcome.phases.push({ name: phase.name, result: 'success', lines, durationMs: Date.now() - started });
      continue;
    }
    const tail = lines.slice(-100).join('\n');
    // As the real runner: a task's error keeps its own code; a command's failure is classified.
    const match = taskCode ? undefined : phase.classify?.find((p) => p.pattern.test(tail));
    const error = { code: taskCode ?? match?.code ?? 'STEP_FAILED', explanation: match?.explanation ?? '', message: failure };
    outcome.phases.push({ name: phase.name, result: phase.optional ? 'warning' : 'failed', lines, error, durationMs: Date.now() - started });
    if (!phase.optional && outcome.succeeded) {
      outcome.succeeded = false;
      outcome.error = { ...error, phase: phase.name };
    }
  }
  return outcome;
}
