import assert from 'node:assert/strict';
/**
 * Test fixtures through the real protocol client: orgs with tokens of each role,
 * enrolled workers, build specs and tiny tar.gz sources.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { create as createTar } from 'tar';
import type { BlobRef, BuildMeshClient, Capabilities, CreateBuildSpec, Org, Platform, SandboxExecutor, WorkerPool } from '@buildmesh/protocol';
import type { ControllerProcess } from './controller-process.js';

export interface Tenant {
  org: Org;
  admin: BuildMeshClient;
  member: BuildMeshClient;
  reader: BuildMeshClient;
  /** The raw secrets, for requests the client does not make (raw fetch, SSE headers). */
  tokens: { admin: string; member: string; reader: string };
}

/** A new org with an admin, a member and a read-only token (created by the instance admin). */
export async function createTenant(controller: ControllerProcess, name: string): Promise<Tenant> {
  const org = await controller.admin.createOrg(name);
  const secret = async (role: 'admin' | 'member' | 'read-only') =>
    (await controller.admin.createToken({ name: `${name}-${role}`, role, orgId: org.id })).secret;
  const tokens = { admin: await secret('admin'), member: await secret('member'), reader: await secret('read-only') };
  return {
    org,
    admin: controller.admin.withToken(tokens.admin),
    member: controller.admin.withToken(tokens.member),
    reader: controller.admin.withToken(tokens.reader),
    tokens,
  };
}

export interface TestWorker {
  workerId: string;
  client: BuildMeshClient;
  credential: string;
  capabilities: Capabilities;
}

export async function enrollWorker(
  orgAdmin: BuildMeshClient,
  options: {
    name?: string;
    platforms?: Platform[];
    labels?: Record<string, string>;
    concurrency?: number;
    pool?: WorkerPool;
    /** Default: bwrap for the shared pool (which refuses unconfined workers), unreported (= none) otherwise. */
    executor?: SandboxExecutor;
  } = {},
): Promise<TestWorker> {
  const created = await orgAdmin.createEnrollmentToken(`enr-${Math.random().toString(36).slice(2, 10)}`, options.pool);
  const capabilities: Capabilities = {
    name: options.name ?? `worker-${Math.random().toString(36).slice(2, 8)}`,
    platforms: options.platforms ?? ['android', 'web'],
    labels: options.labels ?? {},
    concurrency: options.concurrency ?? 1,
    version: 'test',
  };
  const executor = options.executor ?? (options.pool === 'shared' ? 'bwrap' : undefined);
  if (executor) capabilities.executor = executor;
  const enrolled = await orgAdmin.withToken(created.secret).enroll(capabilities);
  return { workerId: enrolled.workerId, credential: enrolled.credential, client: orgAdmin.withToken(enrolled.credential), capabilities };
}

export function buildSpec(overrides: Partial<CreateBuildSpec> = {}): CreateBuildSpec {
  return {
    project: 'app',
    platform: 'android',
    profile: { name: 'production', env: {} },
    ...overrides,
  };
}

let cachedTarGz: Buffer | undefined;

/** A small real tar.gz (package.json + one source file); `salt` makes its bytes (and sha256) unique. */
export async function tinyTarGz(salt?: string): Promise<Buffer> {
  if (!salt && cachedTarGz) return cachedTarGz;
  const dir = await mkdtemp(join(tmpdir(), 'buildmesh-src-'));
  try {
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', salt: salt ?? null }));
    await writeFile(join(dir, 'index.js'), `console.log(${JSON.stringify(salt ?? 'hello')});\n`);
    const chunks: Buffer[] = [];
    // portable + fixed mtime: the same inputs give the same bytes.
    for await (const chunk of createTar({ gzip: true, cwd: dir, portable: true, mtime: new Date(0) }, ['package.json', 'index.js'])) {
      chunks.push(Buffer.from(chunk as Uint8Array));
    }
    const buffer = Buffer.concat(chunks);
    if (!salt) cachedTarGz = buffer;
    return buffer;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const streamOf = (buffer: Buffer): Readable => Readable.from([buffer]);

/** The tiny source uploaded once for each of these tenants: the blob their JSON submits name. */
export async function uploadedTinySource(...tenants: Tenant[]): Promise<BlobRef> {
  const source = await tinyTarGz();
  const blob = { sha256: createHash('sha256').update(source).digest('hex'), size: source.length };
  for (const tenant of tenants) await tenant.member.uploadBlob(blob, streamOf(source));
  return blob;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until `check` returns a value (not undefined/false) or the time runs out. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await sleep(50);
  }
}

/** Heartbeats an attempt in the background (as a real worker does) until the returned stop() is called. */
export function keepLeased(worker: TestWorker, attemptId: string, everyMs = 200): () => void {
  let stopped = false;
  const timer = setInterval(() => {
    if (!stopped) worker.client.heartbeat(attemptId).catch(() => undefined);
  }, everyMs);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

/**
 * The common start of the attempt-side tests: an org with its tokens, one enrolled
 * worker, one submitted build, and that worker holding the build's lease.
 */
export async function leasedBuild(controller: ControllerProcess, spec: Partial<CreateBuildSpec> = {}) {
  const tenant = await createTenant(controller, 'acme');
  const worker = await enrollWorker(tenant.admin);
  const build = await tenant.member.createBuild(buildSpec(spec), streamOf(await tinyTarGz()));
  const job = await worker.client.claim(2000);
  assert.ok(job, 'the worker got the build');
  assert.equal(job.build.id, build.id);
  return { tenant, worker, build, job, attemptId: job.attempt.id };
}
