/**
 * One attempt, end to end:
 *
 *   startGuards      lease, heartbeats, build timeout
 *   setUpAttempt     secrets (the masker exists before the first log line), fresh
 *                    workspace, log shipping, executor, the build's env (once)
 *   buildProject     PREPARE_PROJECT (download + unpack the source, checked against
 *                    its sha256; then choosePlan: the profile's custom config or the
 *                    platform pipeline) → the plan's phases → artifacts
 *   deliverResult    logs flushed → finish
 *   tearDown         workspace removed, executor disposed (always)
 *
 * Stopping: the heartbeat's cancel, the build timeout, a lost lease or the worker
 * stopping abort one signal with a StopReason; the executor stops the process tree
 * (TERM, grace, KILL), `always` phases still run, and the attempt reports
 * canceled / timed_out, or nothing at all when the lease is lost (another worker
 * may own the build now). A worker that stops hands the build back (finish with
 * outcome canceled on a running build = requeue).
 *
 * Controller away: every call of the attempt (secrets, source, logs, heartbeats,
 * artifacts, finish) retries with the shared backoff until it succeeds or the lease
 * is lost (LEASE_LOST, or no accepted heartbeat within the lease on this worker's
 * clock: AttemptLease in ../retry.ts). A restart never fails a build.
 */
import { createHash } from 'node:crypto';
import { realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline, Transform } from 'node:stream';
import { isValidAppDir, MAX_PHASE_DURATION_MS, type BuildJob, type BuildMeshClient } from '@buildmesh/protocol';
import type { WorkerLogger } from '../logger.js';
import { startHeartbeatLoop } from '../loops/heartbeat-loop.js';
import { LogShipper, type LogShipperOptions } from '../loops/log-shipper.js';
import { AttemptLease, describeError, isLeaseLost, isRetryable, retryForAttempt } from '../retry.js';
import type { Executor } from '../sandbox/executor.js';
import { unpackSource, UnpackError, type UnpackLimits } from '../workspace/unpack.js';
import { createWorkspace, type Workspace } from '../workspace/workspace.js';
import { buildEnv, planPipeline, type PipelinePlan, type PlanInput } from '../pipelines/index.js';
import { warmBuildPhases, type WorkerCache } from '../cache/index.js';
import { artifactSpecs, collectAndUpload, type ArtifactSpec } from './artifacts.js';
import { BuildFailure, stopReasonOf, type StopReason } from './build-failure.js';
import { BuildLog, formatDuration } from './build-log.js';
import { choosePlan } from './choose-plan.js';
import { attemptSecretValues, createMasker } from './mask-secrets.js';
import type { BuildPlan, Phase, PhaseContext } from './plan.js';
import { resolveInside } from './paths.js';
import { PhaseRunner, type PhasesResult } from './run-phases.js';

export interface AttemptDeps {
  client: BuildMeshClient;
  workerId: string;
  workerName: string;
  workDir: string;
  keepWorkspace: boolean;
  /** A fresh executor for this attempt. */
  createExecutor(): Executor;
  logger: WorkerLogger;
  /** The Expo pipelines' planner (default: ../pipelines); tests may pass another. */
  planPipeline?: (input: PlanInput) => Promise<PipelinePlan>;
  unpackLimits?: Partial<UnpackLimits>;
  /** Dependency caches and toolchain versions (../cache); without it nothing is cached and versions fail. */
  cache?: WorkerCache;
  shipper?: Pick<LogShipperOptions, 'batchBytes' | 'lingerMs' | 'maxBufferedBytes' | 'retry'>;
}

export interface AttemptReport extends PhasesResult {
  /** Whether the controller accepted the finish (false: lease lost or unreachable when giving up). */
  reported: boolean;
  logLines: number;
}

export interface AttemptHandle {
  attemptId: string;
  buildId: string;
  /** Stops the attempt (idempotent; the first reason wins). */
  stop(reason: StopReason): void;
  done: Promise<AttemptReport>;
}

/** How long a worker that is stopping waits for the controller to take its report. */
const STOPPING_REPORT_TIMEOUT_MS = 10_000;

export function startAttempt(job: BuildJob, deps: AttemptDeps): AttemptHandle {
  const stopController = new AbortController();
  const stop = (reason: StopReason): void => {
    if (!stopController.signal.aborted) stopController.abort(reason);
  };
  return {
    attemptId: job.attempt.id,
    buildId: job.build.id,
    stop,
    done: runAttempt(job, deps, stopController.signal, stop),
  };
}

async function runAttempt(job: BuildJob, deps: AttemptDeps, signal: AbortSignal, stop: (reason: StopReason) => void): Promise<AttemptReport> {
  const started = performance.now();
  const guards = startGuards(job, deps, stop);
  const attempt: AttemptResources = {};
  let result: PhasesResult;
  try {
    await setUpAttempt(job, deps, signal, guards, attempt);
    result = await buildProject(job, deps, signal, guards, attempt as Required<AttemptResources>);
    attempt.log!.system(undefined, `Build ${summarize(result)} (attempt ran ${formatDuration(performance.now() - started)})`);
  } catch (err) {
    result = failureOutsidePhases(err, job, deps, signal, guards);
  } finally {
    clearTimeout(guards.buildTimer);
  }
  const reported = await deliverResult(job, deps, signal, guards, attempt, result);
  await tearDown(job, deps, guards, attempt);
  deps.logger.info({ attemptId: job.attempt.id, buildId: job.build.id, outcome: result.outcome, error: result.error?.code, reported, stop: result.stop }, 'attempt ended');
  return { ...result, reported, logLines: attempt.shipper?.shippedLines ?? 0 };
}

/** What keeps an attempt honest from outside: its lease (with heartbeats) and its build timeout. */
interface Guards {
  lease: AttemptLease;
  loseLease(err: unknown): void;
  heartbeat: ReturnType<typeof startHeartbeatLoop>;
  buildTimer: NodeJS.Timeout;
}

/** What an attempt sets up and must release, whichever way it ends. */
interface AttemptResources {
  workspace?: Workspace;
  executor?: Executor;
  shipper?: LogShipper;
  log?: BuildLog;
  secrets?: AttemptSecrets;
  /** The build's environment, computed once here; the plan and `set-env` add to it. */
  env?: Record<string, string>;
}

type AttemptSecrets = Awaited<ReturnType<BuildMeshClient['attemptSecrets']>>;

function startGuards(job: BuildJob, deps: AttemptDeps, stop: (reason: StopReason) => void): Guards {
  const { client, logger } = deps;
  const attemptId = job.attempt.id;
  // The lease was granted when the claim was answered, at the latest now.
  const lease = new AttemptLease(job.timing.leaseTtlMs);
  lease.lost.addEventListener(
    'abort',
    () => {
      logger.warn({ attemptId, err: describeError(lease.lost.reason) }, 'attempt lost its lease');
      stop('lease_lost');
    },
    { once: true },
  );
  const heartbeat = startHeartbeatLoop({
    client,
    attemptId,
    intervalMs: job.timing.heartbeatIntervalMs,
    onCancel: (reason) => {
      logger.info({ attemptId, reason }, 'controller asked to stop the build');
      stop(reason);
    },
    lease,
    logger,
  });
  const buildTimer = setTimeout(() => stop('timed_out'), job.build.timeoutSeconds * 1000);
  return { lease, loseLease: (err) => lease.lose(err), heartbeat, buildTimer };
}

/** Secrets (so the masker exists before the first log line), workspace, log shipping, executor, environment. */
async function setUpAttempt(job: BuildJob, deps: AttemptDeps, signal: AbortSignal, guards: Guards, attempt: AttemptResources): Promise<void> {
  const { client, logger } = deps;
  const attemptId = job.attempt.id;
  const [secrets, workspace] = await Promise.all([
    retryForAttempt(() => client.attemptSecrets(attemptId), signal),
    createWorkspace(deps.workDir, attemptId),
  ]);
  attempt.workspace = workspace;
  attempt.secrets = secrets;
  const shipper = new LogShipper({
    ...deps.shipper,
    send: (batch) => client.sendLogs(attemptId, batch),
    onLeaseLost: guards.loseLease,
    onError: (err, failures) => {
      if (failures === 1 || failures % 20 === 0) logger.warn({ attemptId, failures, err: describeError(err) }, 'log batch failed; retrying');
    },
  });
  attempt.shipper = shipper;
  attempt.log = new BuildLog((line) => shipper.push(line), createMasker(attemptSecretValues(secrets)));
  attempt.log.system(
    undefined,
    `Worker ${deps.workerName} (${deps.workerId}) runs attempt ${job.attempt.number} of build ${job.build.id}: ${job.build.platform}, profile ${job.build.profileName}`,
  );
  attempt.executor = deps.createExecutor();
  await attempt.executor.prepare(workspace.root);
  attempt.env = buildEnv({ job, projectDir: workspace.projectDir, secrets: secrets.secrets });
}

/** PREPARE_PROJECT (the source, then the plan), the plan's phases, then the artifacts. */
async function buildProject(job: BuildJob, deps: AttemptDeps, signal: AbortSignal, guards: Guards, attempt: Required<AttemptResources>): Promise<PhasesResult> {
  const { client } = deps;
  const { workspace, executor, log, secrets, env } = attempt;
  const attemptId = job.attempt.id;
  // A monorepo's source is its repository root (EAS_BUILD_WORKINGDIR); the app is its appDir folder.
  const appDir = job.build.appDir ?? null;
  const repoDir = workspace.projectDir;
  const projectDir = appDir !== null && isValidAppDir(appDir) ? join(repoDir, appDir) : repoDir;
  // The phases' project folder is the source root until the source is unpacked and its app folder checked.
  const context = { job, projectDir: repoDir, repoDir, workspaceRoot: workspace.root, env };
  const runner = new PhaseRunner({ executor, log, context, signal });
  const upload = async (spec: ArtifactSpec, ctx: PhaseContext): Promise<void> => {
    try {
      await collectAndUpload({ client, attemptId, projectDir: ctx.projectDir, rootDir: ctx.repoDir ?? ctx.projectDir, tmpDir: workspace.tmpDir, specs: [spec], signal: ctx.signal, log: ctx.log });
    } catch (err) {
      if (isLeaseLost(err)) guards.loseLease(err);
      throw err;
    }
  };
  let plan: BuildPlan = { description: 'nothing', phases: [], artifacts: { applicationArchive: [], buildArtifacts: [] }, redact: [] };
  await runner.run([
    {
      name: 'PREPARE_PROJECT',
      title: 'Prepare project',
      steps: [
        {
          kind: 'task',
          describe: 'download and unpack the source',
          run: async (ctx) => {
            await downloadSource(client, job, repoDir, deps.unpackLimits, ctx, guards.loseLease);
            if (appDir !== null) {
              await checkAppDir(repoDir, appDir, ctx);
              context.projectDir = projectDir; // every later task and command works in the app's folder
            }
          },
        },
        {
          kind: 'task',
          describe: 'read the build plan',
          run: async (ctx) => {
            plan = await choosePlan(
              { job, projectDir: ctx.projectDir, repoDir, workspaceRoot: ctx.workspaceRoot, credentials: secrets.credentials, secrets: secrets.secrets, fileSecrets: secrets.files, env },
              { planPipeline: deps.planPipeline ?? planPipeline, upload, ...(deps.cache ? { cache: deps.cache.store } : {}) },
            );
            if (plan.redact.length) log.setMask(createMasker([...attemptSecretValues(secrets), ...plan.redact]));
            ctx.log(`build plan: ${plan.phases.length} phase${plan.phases.length === 1 ? '' : 's'} from ${plan.description}`);
          },
        },
      ],
    },
  ]);
  // ../cache: SET_UP_TOOLCHAINS (profile node/yarn/pnpm/bun/corepack), and for the Expo pipelines RESTORE_CACHE first, SAVE_CACHE last.
  const caches = !job.build.profile.config;
  await runner.run(warmBuildPhases(plan.phases, { cache: deps.cache, job, workspaceRoot: workspace.root, homeDir: workspace.homeDir, caches }));
  await runner.run(artifactPhases(artifactSpecs(plan.artifacts), signal.aborted, upload));
  return runner.result();
}

function summarize(result: PhasesResult): string {
  return result.error ? `${result.outcome}: ${result.error.code}: ${result.error.message}` : result.outcome;
}

/** Outside any phase: the worker itself could not set the attempt up (disk, controller). */
function failureOutsidePhases(err: unknown, job: BuildJob, deps: AttemptDeps, signal: AbortSignal, guards: Guards): PhasesResult {
  if (isLeaseLost(err)) guards.loseLease(err);
  const stopped = stopReasonOf(signal);
  deps.logger.error({ attemptId: job.attempt.id, err: describeError(err) }, 'attempt failed outside its phases');
  if (stopped) {
    const timedOut = stopped === 'timed_out';
    return { outcome: timedOut ? 'timed_out' : 'canceled', phases: [], stop: stopped, error: { code: timedOut ? 'BUILD_TIMED_OUT' : 'BUILD_CANCELED', message: `stopped: ${stopped}` } };
  }
  return { outcome: 'failed', phases: [], error: { code: 'UNKNOWN_ERROR', message: `the worker could not run the attempt: ${describeError(err)}`.slice(0, 4096) } };
}

/** Flushes the log and reports the outcome, unless the lease is gone (another worker may own the build). */
async function deliverResult(job: BuildJob, deps: AttemptDeps, signal: AbortSignal, guards: Guards, attempt: AttemptResources, result: PhasesResult): Promise<boolean> {
  if (guards.lease.lost.aborted) return false;
  const attemptId = job.attempt.id;
  const stopping = stopReasonOf(signal) === 'worker_stopping';
  const give = stopping ? AbortSignal.any([guards.lease.lost, AbortSignal.timeout(STOPPING_REPORT_TIMEOUT_MS)]) : guards.lease.lost;
  try {
    if (attempt.shipper && !(await attempt.shipper.flush(give))) deps.logger.warn({ attemptId }, 'not every log line could be delivered');
    return give.aborted ? false : await report(deps.client, attemptId, result, give, deps.logger);
  } catch (err) {
    deps.logger.warn({ attemptId, err: describeError(err) }, 'delivering the result failed');
    return false;
  }
}

/** Always: log shipping, heartbeats and lease stop; the executor and the workspace go. */
async function tearDown(job: BuildJob, deps: AttemptDeps, guards: Guards, attempt: AttemptResources): Promise<void> {
  const attemptId = job.attempt.id;
  attempt.shipper?.close();
  await guards.heartbeat.stop();
  guards.lease.dispose();
  await attempt.executor?.dispose().catch((err: unknown) => deps.logger.warn({ attemptId, err: describeError(err) }, 'executor dispose failed'));
  if (attempt.workspace && !deps.keepWorkspace) {
    await attempt.workspace.remove().catch((err: unknown) => deps.logger.warn({ attemptId, err: describeError(err) }, 'workspace removal failed'));
  }
}

/** A source transfer that broke off before all its bytes arrived: worth fetching again. */
class TransferBroken extends Error {}

/**
 * Streams the source into the unpacker, hashing it on the way. A transfer that breaks off
 * (fewer bytes than the build's source has) is retried like any transient failure, until the
 * attempt stops or its lease is lost; an archive the unpacker refuses is not.
 */
async function downloadSource(
  client: BuildMeshClient,
  job: BuildJob,
  projectDir: string,
  limits: Partial<UnpackLimits> | undefined,
  ctx: PhaseContext,
  loseLease: (err: unknown) => void,
): Promise<void> {
  const expected = job.build.source;
  const once = async (): Promise<void> => {
    const started = performance.now();
    const hash = createHash('sha256');
    let received = 0;
    try {
      const body = (await client.source(job.attempt.id, ctx.signal)).body;
      const hashing = new Transform({
        transform(chunk: Buffer, _enc, callback) {
          hash.update(chunk);
          received += chunk.length;
          callback(null, chunk);
        },
      });
      pipeline(body, hashing, () => {});
      const { entries, bytes } = await unpackSource(hashing, projectDir, limits);
      const sha256 = hash.digest('hex');
      if (sha256 !== expected.sha256) {
        throw new BuildFailure('SOURCE_UNPACK_FAILED', `the source archive does not match its sha256 (got ${sha256}, expected ${expected.sha256})`);
      }
      ctx.log(`unpacked ${entries} entries (${(bytes / 1024 / 1024).toFixed(1)} MB) in ${formatDuration(performance.now() - started)}`);
    } catch (err) {
      if (!(err instanceof UnpackError)) throw err;
      if ((err.code === 'ARCHIVE_UNREADABLE' || err.code === 'ARCHIVE_CORRUPT') && received < expected.size) {
        throw new TransferBroken(`the transfer broke off after ${received} of ${expected.size} bytes`, { cause: err });
      }
      throw new BuildFailure('SOURCE_UNPACK_FAILED', `the source archive was refused: ${err.code}: ${err.message}`, { cause: err });
    }
  };
  try {
    await retryForAttempt(once, ctx.signal, {
      retryable: (err) => err instanceof TransferBroken || isRetryable(err),
      onRetry: (err, failures) => ctx.log(`downloading the source failed (${describeError(err)}); retrying (${failures})`),
    });
  } catch (err) {
    if (isLeaseLost(err)) loseLease(err);
    throw err;
  }
}

/** The job's app folder must be a real folder of the unpacked source (never a link leading elsewhere). */
async function checkAppDir(repoDir: string, appDir: string, ctx: PhaseContext): Promise<void> {
  if (!isValidAppDir(appDir)) throw new BuildFailure('SOURCE_UNPACK_FAILED', `the app folder "${appDir}" is not a relative path inside the source`);
  const real = await resolveInside(repoDir, appDir, 'SOURCE_UNPACK_FAILED', 'app folder');
  if (real !== join(await realpath(repoDir), appDir) || !(await stat(real)).isDirectory()) {
    throw new BuildFailure('SOURCE_UNPACK_FAILED', `the app folder "${appDir}" is not a folder of the source`);
  }
  ctx.log(`monorepo: the source is the repository root (EAS_BUILD_WORKINGDIR); the app is ${appDir}`);
}

function artifactPhases(specs: ArtifactSpec[], stopped: boolean, upload: (spec: ArtifactSpec, ctx: PhaseContext) => Promise<void>): Phase[] {
  const step = (spec: ArtifactSpec): Phase['steps'][number] => ({ kind: 'task', describe: `collect and upload ${spec.kind}`, run: (ctx) => upload(spec, ctx) });
  const phases: Phase[] = [];
  const archive = specs.find((s) => s.kind === 'application-archive');
  if (archive) phases.push({ name: 'UPLOAD_APPLICATION_ARCHIVE', title: 'Upload application archive', steps: [step(archive)] });
  // Build artifacts (logs, reports) matter most when the build failed: uploaded either way,
  // but not after a stop (canceled, timed out, lease lost, worker stopping).
  const extra = specs.find((s) => s.kind === 'build-artifacts');
  if (extra && !stopped) phases.push({ name: 'UPLOAD_BUILD_ARTIFACTS', title: 'Upload build artifacts', always: 'always', steps: [step(extra)] });
  return phases;
}

/** At most `max` characters, well-formed, without NUL (the wire contract refuses NUL: the store could not keep it). */
function storable(text: string, max: number): string {
  return text.replace(/\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd').slice(0, max);
}

async function report(client: BuildMeshClient, attemptId: string, result: PhasesResult, signal: AbortSignal, logger: WorkerLogger): Promise<boolean> {
  // Phase names, messages and durations can come from a build (custom configs, tool output): made storable here,
  // so the controller never refuses the report that ends the attempt.
  const request = {
    outcome: result.outcome,
    ...(result.error ? { error: { ...result.error, message: storable(result.error.message, 4096), ...(result.error.phase ? { phase: storable(result.error.phase, 64) } : {}) } } : {}),
    phases: result.phases.map((p) => ({ name: storable(p.name, 64), result: storable(p.result, 16), durationMs: Math.min(Math.max(0, p.durationMs), MAX_PHASE_DURATION_MS) })),
  };
  try {
    const answer = await retryForAttempt(() => client.finish(attemptId, request), signal, {
      onRetry: (err, failures) => {
        if (failures === 1 || failures % 20 === 0) logger.warn({ attemptId, failures, err: describeError(err) }, 'finish failed; retrying');
      },
    });
    logger.info({ attemptId, buildStatus: answer.buildStatus }, 'attempt reported');
    return true;
  } catch (err) {
    if (signal.aborted) return false;
    if (isLeaseLost(err)) logger.warn({ attemptId, err: describeError(err) }, 'finish refused: lease lost');
    else logger.error({ attemptId, err: describeError(err) }, 'finish refused');
    return false;
  }
}
