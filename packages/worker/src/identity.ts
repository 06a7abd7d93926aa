/**
 * The worker's identity: enrolled once with an enrollment token, then the saved
 * credential (mode 0600, written atomically) is used for every start after, so a
 * restarted worker is the same worker to the controller.
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ApiError, BuildMeshClient, type Capabilities, type Timing } from '@buildmesh/protocol';
import { credentialFilePath, WorkerConfigError, type WorkerOptions } from './config.js';
import type { WorkerLogger } from './logger.js';
import { backoffDelay, describeError, isRetryable, sleep } from './retry.js';

export interface SavedCredential {
  url: string;
  name: string;
  workerId: string;
  credential: string;
  enrolledAt: string;
}

export interface WorkerIdentity {
  workerId: string;
  /** Client authenticated with the worker's own credential. */
  client: BuildMeshClient;
  timing: Timing;
}

export async function loadCredential(file: string): Promise<SavedCredential | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const saved = JSON.parse(text) as Partial<SavedCredential>;
  if (typeof saved.workerId !== 'string' || typeof saved.credential !== 'string') {
    throw new WorkerConfigError(`${file} is not a worker credential file; remove it to enroll again`);
  }
  return saved as SavedCredential;
}

export async function saveCredential(file: string, credential: SavedCredential): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  // Created 0600 from the first byte (not chmod'ed after), then renamed into place.
  await writeFile(temp, JSON.stringify(credential, null, 2) + '\n', { mode: 0o600, flag: 'w' });
  await chmod(temp, 0o600);
  await rename(temp, file);
}

async function readEnrollmentToken(options: WorkerOptions): Promise<string | undefined> {
  if (options.enrollmentToken) return options.enrollmentToken.trim();
  if (options.enrollmentTokenFile) return (await readFile(options.enrollmentTokenFile, 'utf8')).trim();
  return undefined;
}

const CLIENT_TIMEOUT_MS = 15_000;

/**
 * A worker without a sandbox serves only its own org: the controller refuses it the shared pool.
 * The worker does not retry or linger: it stops with what to do. Still a SANDBOX_REQUIRED ApiError,
 * so that a caller (`buildmesh up`) can enroll it into its own org instead.
 */
export function unconfinedRefused(capabilities: Capabilities, cause: ApiError): ApiError {
  return new ApiError(
    'SANDBOX_REQUIRED',
    `refusing to serve: this worker runs builds without a sandbox (executor ${capabilities.executor ?? 'none'}) and its enrollment ` +
      `is for the shared pool, where other orgs' builds would run unconfined on this machine (${cause.message}). ` +
      `Install bubblewrap (apt-get install bubblewrap) and start the worker with --sandbox bwrap, or enroll it with an org enrollment token.`,
  );
}

export function workerClient(url: string, token: string, version: string): BuildMeshClient {
  return new BuildMeshClient({ url, token, timeoutMs: CLIENT_TIMEOUT_MS, userAgent: `buildmesh-worker/${version}` });
}

/**
 * Says hello with the saved credential, or enrolls when there is none (or the
 * controller no longer knows it and an enrollment token is at hand). Waits with
 * backoff while the controller is unreachable; gives up when `signal` aborts.
 */
export async function establishIdentity(
  options: WorkerOptions,
  capabilities: Capabilities,
  logger: WorkerLogger,
  signal: AbortSignal,
): Promise<WorkerIdentity> {
  const file = credentialFilePath(options);
  for (let failures = 0; ; ) {
    try {
      const saved = await loadCredential(file);
      if (saved) {
        const client = workerClient(options.url, saved.credential, capabilities.version);
        try {
          const hello = await client.hello(capabilities);
          logger.info({ workerId: hello.workerId }, 'worker credential accepted');
          return { workerId: hello.workerId, client, timing: hello.timing };
        } catch (err) {
          const forgotten = err instanceof ApiError && (err.code === 'UNAUTHENTICATED' || err.code === 'NOT_FOUND');
          if (!forgotten) throw err;
          logger.warn({ workerId: saved.workerId }, 'the controller no longer accepts the saved worker credential; enrolling again');
        }
      }
      const token = await readEnrollmentToken(options);
      if (!token) {
        throw new WorkerConfigError(
          saved
            ? 'the saved worker credential was refused and no enrollment token is set (BUILDMESH_ENROLLMENT_TOKEN)'
            : 'first start: an enrollment token is required (BUILDMESH_ENROLLMENT_TOKEN or --token-file)',
        );
      }
      const enrolled = await workerClient(options.url, token, capabilities.version).enroll(capabilities);
      await saveCredential(file, {
        url: options.url,
        name: options.name,
        workerId: enrolled.workerId,
        credential: enrolled.credential,
        enrolledAt: new Date().toISOString(),
      });
      logger.info({ workerId: enrolled.workerId, credentialFile: file }, 'worker enrolled');
      return { workerId: enrolled.workerId, client: workerClient(options.url, enrolled.credential, capabilities.version), timing: enrolled.timing };
    } catch (err) {
      if (err instanceof ApiError && err.code === 'SANDBOX_REQUIRED') throw unconfinedRefused(capabilities, err);
      if (!isRetryable(err) || signal.aborted) throw err;
      failures++;
      logger.warn({ err: describeError(err), failures }, 'controller unreachable; retrying');
      await sleep(backoffDelay(failures, { baseMs: 500, maxMs: 15_000 }), signal);
      if (signal.aborted) throw new Error('stopped before the worker could reach the controller');
    }
  }
}
