/**
 * One attempt, end to end:
 *
 *   heartbeat starts → secrets fetched (the masker exists before the first log line)
 *   → fresh workspace + executor → PREPARE_PROJECT (download + unpack the source,
 *   checked against its sha256; then the plan: the profile's custom config, or the
 *   platform pipeline, whose env, artifact globs and extra values to mask are taken
 *   over) → the plan's phases → artifacts → logs flushed → finish → workspace
 *   removed, executor disposed (always).
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
import { performance } from 'node:perf_hooks';
import { pipeline, Readable, Transform } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { BuildJob, BuildMeshClient } from '@buildmesh/protocol';
import type { WorkerLogger } from '../logger.js';
import { startHeartbeatLoop } from '../loops/heartbeat-loop.js';
import { LogShipper, type LogShipperOptions } from '../loops/log-shipper.js';
import { AttemptLease, describeError, isLeaseLost, isRetryable, retryForAttempt } from '../retry.js';
import type { Executor } from '../sandbox/executor.js';
import { unpackSource, UnpackError, type UnpackLimits } from '../workspace/unpack.js';
import { createWorkspace, type Workspace } from '../workspace/workspace.js';
import { buildEnv, planPipeline, type PipelinePlan, type PlanInput } from '../pipelines/index.js';
import { warmBuildPhases, type WorkerCache } from '../cache/index.js';
import { artifactSpecs, collectAndUpload, profileArtifactPaths, type ArtifactPaths, type ArtifactSpec } from './artifacts.js';
import { BuildFailure, stopReasonOf, type StopReason } from './build-failure.js';
import { BuildLog, formatDuration } from './build-log.js';
import { planCustomConfig } from './custom-config.js';
import { attemptSecretValues, createMasker } from './mask-secrets.js';
import type { Phase, PhaseContext } from './plan.js';
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
  const { client, logger } = deps;
  const attemptId = job.attempt.id;
  const started = performance.now();
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
  const loseLease = (err: unknown): void => lease.lose(err);
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
  let workspace: Workspace | undefined;
  let executor: Executor | undefined;
  let shipper: LogShipper | undefined;
  let result: PhasesResult;
  let reported = false;
  try {
    const [secrets, ws] = await Promise.all([
      retryForAttempt(() => client.attemptSecrets(attemptId), signal),
      createWorkspace(deps.workDir, attemptId),
    ]);
    workspace = ws;
    shipper = new LogShipper({
      ...deps.shipper,
      send: (batch) => client.sendLogs(attemptId, batch),
      onLeaseLost: loseLease,
      onError: (err, failures) => {
        if (failures === 1 || failures % 20 === 0) logger.warn({ attemptId, failures, err: describeError(err) }, 'log batch failed; retrying');
      },
    });
    const sink = shipper;
    const secretValues = attemptSecretValues(secrets);
    const log = new BuildLog((line) => sink.push(line), createMasker(secretValues));
    log.system(
      undefined,
      `Worker ${deps.workerName} (${deps.workerId}) runs attempt ${job.attempt.number} of build ${job.build.id}: ${job.build.platform}, profile ${job.build.profileName}`,
    );
    executor = deps.createExecutor();
    await executor.prepare(workspace.root);

    // One env object for the whole attempt: a pipeline's plan adds to it in place.
    const env = buildEnv({ job, projectDir: workspace.projectDir, secrets: secrets.secrets });
    const context: Omit<PhaseContext, 'log' | 'signal'> = { job, projectDir: workspace.projectDir, workspaceRoot: workspace.root, env };
    const runner = new PhaseRunner({ executor, log, context, signal });
    const configName = job.build.profile.config;
    let phases: Phase[] = [];
    let artifacts: ArtifactPaths = profileArtifactPaths(job.build.profile);
    const ownWorkspace = workspace;

    await runner.run([
      {
        name: 'PREPARE_PROJECT',
        title: 'Prepare project',
        steps: [
          {
            kind: 'task',
            describe: 'download and unpack the source',
            run: (ctx) => downloadSource(client, job, ownWorkspace.projectDir, deps.unpackLimits, ctx, loseLease),
          },
          {
            kind: 'task',
            describe: 'read the build plan',
            run: async (ctx) => {
              if (configName) {
                phases = await planCustomConfig(ctx.projectDir, configName);
                ctx.log(`build plan: ${phases.length} step${phases.length === 1 ? '' : 's'} from ${configName}`);
                return;
              }
              const plan = await (deps.planPipeline ?? planPipeline)({
                job,
                projectDir: ctx.projectDir,
                workspaceRoot: ctx.workspaceRoot,
                credentials: secrets.credentials,
                secrets: secrets.secrets,
              });
              if (plan.redact.length) log.setMask(createMasker([...secretValues, ...plan.redact]));
              Object.assign(env, plan.env);
              phases = plan.phases;
              artifacts = plan.artifacts;
              ctx.log(`build plan: ${phases.length} phase${phases.length === 1 ? '' : 's'} (${job.build.platform} pipeline)`);
            },
          },
        ],
      },
    ]);
    // ../cache: SET_UP_TOOLCHAINS (profile node/yarn/pnpm/bun/corepack), and for the Expo pipelines RESTORE_CACHE first, SAVE_CACHE last.
    await runner.run(warmBuildPhases(phases, { cache: deps.cache, job, workspaceRoot: ownWorkspace.root, homeDir: ownWorkspace.homeDir, caches: !configName }));
    await runner.run(artifactPhases(artifactSpecs(artifacts), signal.aborted, client, attemptId, ownWorkspace, loseLease));
    result = runner.result();
    const summary = result.error ? `${result.outcome}: ${result.error.code}: ${result.error.message}` : result.outcome;
    log.system(undefined, `Build ${summary} (attempt ran ${formatDuration(performance.now() - started)})`);
  } catch (err) {
    // Outside any phase: the worker itself could not set the attempt up (disk, controller).
    if (isLeaseLost(err)) loseLease(err);
    const stopped = stopReasonOf(signal);
    logger.error({ attemptId, err: describeError(err) }, 'attempt failed outside its phases');
    result = stopped
      ? { outcome: stopped === 'timed_out' ? 'timed_out' : 'canceled', phases: [], stop: stopped, error: { code: stopped === 'timed_out' ? 'BUILD_TIMED_OUT' : 'BUILD_CANCELED', message: `stopped: ${stopped}` } }
      : { outcome: 'failed', phases: [], error: { code: 'UNKNOWN_ERROR', message: `the worker could not run the attempt: ${describeError(err)}`.slice(0, 4096) } };
  } finally {
    clearTimeout(buildTimer);
  }

  try {
    if (!lease.lost.aborted) {
      const stopping = stopReasonOf(signal) === 'worker_stopping';
      const give = stopping ? AbortSignal.any([lease.lost, AbortSignal.timeout(STOPPING_REPORT_TIMEOUT_MS)]) : lease.lost;
      if (shipper && !(await shipper.flush(give))) logger.warn({ attemptId }, 'not every log line could be delivered');
      if (!give.aborted) reported = await report(client, attemptId, result, give, logger);
    }
  } finally {
    shipper?.close();
    await heartbeat.stop();
    lease.dispose();
    await executor?.dispose().catch((err: unknown) => logger.warn({ attemptId, err: describeError(err) }, 'executor dispose failed'));
    if (workspace && !deps.keepWorkspace) {
      await workspace.remove().catch((err: unknown) => logger.warn({ attemptId, err: describeError(err) }, 'workspace removal failed'));
    }
  }
  logger.info({ attemptId, buildId: job.build.id, outcome: result.outcome, error: result.error?.code, reported, stop: result.stop }, 'attempt ended');
  return { ...result, reported, logLines: shipper?.shippedLines ?? 0 };
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
      const response = await client.source(job.attempt.id, ctx.signal);
      const body = Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>);
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

function artifactPhases(
  specs: ArtifactSpec[],
  stopped: boolean,
  client: BuildMeshClient,
  attemptId: string,
  workspace: Workspace,
  loseLease: (err: unknown) => void,
): Phase[] {
  const upload = (spec: ArtifactSpec): Phase['steps'][number] => ({
    kind: 'task',
    describe: `collect and upload ${spec.kind}`,
    run: async (ctx) => {
      try {
        await collectAndUpload({ client, attemptId, projectDir: ctx.projectDir, tmpDir: workspace.tmpDir, specs: [spec], signal: ctx.signal, log: ctx.log });
      } catch (err) {
        if (isLeaseLost(err)) loseLease(err);
        throw err;
      }
    },
  });
  const phases: Phase[] = [];
  const archive = specs.find((s) => s.kind === 'application-archive');
  if (archive) phases.push({ name: 'UPLOAD_APPLICATION_ARCHIVE', title: 'Upload application archive', steps: [upload(archive)] });
  // Build artifacts (logs, reports) matter most when the build failed: uploaded either way,
  // but not after a stop (canceled, timed out, lease lost, worker stopping).
  const extra = specs.find((s) => s.kind === 'build-artifacts');
  if (extra && !stopped) phases.push({ name: 'UPLOAD_BUILD_ARTIFACTS', title: 'Upload build artifacts', always: 'always', steps: [upload(extra)] });
  return phases;
}

async function report(client: BuildMeshClient, attemptId: string, result: PhasesResult, signal: AbortSignal, logger: WorkerLogger): Promise<boolean> {
  const request = {
    outcome: result.outcome,
    ...(result.error ? { error: { ...result.error, message: result.error.message.slice(0, 4096) } } : {}),
    phases: result.phases,
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
