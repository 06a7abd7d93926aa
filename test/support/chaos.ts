/**
 * The chaos soak, shared by the standing tests (test/e2e/chaos-soak-…), `npm run soak` and the
 * `soak` benchmark: real controllers and real workers, builds with unique markers submitted
 * while faults are injected, all from one seed. Two stores: SQLite (one controller: kill -9 and
 * SIGSTOP of it) and PostgreSQL (two replicas behind nginx on a private PostgreSQL instance:
 * kill -9 and SIGSTOP of one replica at a time, and restarts of PostgreSQL itself); worker kill -9
 * and SIGTERM in both. At the end every acknowledged build must have succeeded, with its markers
 * exactly once in its final attempt's log, an artifact that verifies, no more attempts than the
 * faults explain, and no 5xx answered by a controller.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { retryTransient, type Build, type BuildMeshClient, type LogEntry } from '@buildmesh/protocol';
import { startTestController, type ControllerTiming } from '../helpers/controller.js';
import { startPrivatePostgres } from '../helpers/private-postgres.js';
import type { TestProcess } from '../helpers/processes.js';
import { startReplicaSet } from '../helpers/replicas.js';
import { startTestWorker, waitForWorkerOnline, type TestWorker } from '../helpers/worker.js';
import { makeFixtureProject, packProject, readAllLogs } from '../helpers/builds.js';
import { delay, waitFor } from '../helpers/wait.js';

export type ChaosStore = 'sqlite' | 'postgres';
export type FaultKind = 'controller-kill' | 'controller-stop' | 'replica-kill' | 'replica-stop' | 'postgres-restart' | 'worker-kill' | 'worker-term';
/** The faults of each store, in the order they are dealt (each at least once when there are as many faults). */
export const FAULT_KINDS: Record<ChaosStore, readonly FaultKind[]> = {
  sqlite: ['controller-kill', 'controller-stop', 'worker-kill', 'worker-term'],
  postgres: ['postgres-restart', 'replica-kill', 'replica-stop', 'worker-kill', 'worker-term'],
};

export interface ChaosOptions {
  seed: number;
  /** sqlite (default): one controller. postgres: two replicas behind nginx on a private PostgreSQL. */
  store?: ChaosStore;
  builds: number;
  faults: number;
  /** Submissions are spread over the first 60 % of this, faults over all of it. */
  durationMs: number;
  workers: number;
  timing: ControllerTiming;
  /** How long the controller (a replica) stays dead after kill -9, and frozen after SIGSTOP, and a killed worker stays down. */
  controllerDownMs: [number, number];
  controllerStopMs: [number, number];
  workerDownMs: [number, number];
  /** How long PostgreSQL stays down between its fast shutdown and its start (postgres store). */
  postgresDownMs?: [number, number];
  /** Size of each build's artifact. */
  artifactBytes: number;
  /** Progress lines (the fault timeline as it happens). */
  log?: (line: string) => void;
}

/** The standing test's form: ~2–3 minutes on a loaded 2-core machine. */
export const SHORT_SOAK: Omit<ChaosOptions, 'seed'> = {
  builds: 60,
  faults: 8,
  durationMs: 90_000,
  workers: 3,
  // A lease long enough that a controller outage of the short form never lapses one.
  timing: { heartbeatIntervalMs: 1000, leaseTtlMs: 12_000, sweepIntervalMs: 500, claimWaitMs: 10_000 },
  controllerDownMs: [1000, 3000],
  controllerStopMs: [3000, 6000],
  workerDownMs: [500, 2000],
  artifactBytes: 512 * 1024,
};

/** `npm run soak` and the benchmark: the outage lengths of the soak issue 19 was filed from. */
export const LONG_SOAK: Omit<ChaosOptions, 'seed'> = {
  builds: 150,
  faults: 12,
  durationMs: 600_000,
  workers: 3,
  timing: { heartbeatIntervalMs: 5000, leaseTtlMs: 30_000, sweepIntervalMs: 1000, claimWaitMs: 25_000 },
  controllerDownMs: [2000, 5000],
  controllerStopMs: [11_000, 15_000],
  workerDownMs: [1000, 3000],
  artifactBytes: 1024 * 1024,
};

/**
 * The PostgreSQL forms: two replicas, one down or frozen at a time, with replica outages of 1–5 s
 * and a PostgreSQL restart with a few seconds down.
 */
export const SHORT_PG_SOAK: Omit<ChaosOptions, 'seed'> = {
  ...SHORT_SOAK,
  store: 'postgres',
  builds: 48,
  faults: 8,
  controllerDownMs: [1000, 5000],
  controllerStopMs: [3000, 6000],
  postgresDownMs: [2000, 4000],
};

export const LONG_PG_SOAK: Omit<ChaosOptions, 'seed'> = {
  ...LONG_SOAK,
  store: 'postgres',
  faults: 15,
  controllerDownMs: [1000, 5000],
  postgresDownMs: [2000, 5000],
};

export interface FaultEvent {
  kind: FaultKind;
  target: string;
  /** Epoch ms: injected, and over (controller answering again, resumed, worker started again). */
  at: number;
  endedAt: number;
  detail: string;
}

export interface ChaosResult {
  seed: number;
  startedAt: number;
  timeline: FaultEvent[];
  submitted: number;
  acknowledged: number;
  succeeded: number;
  /** Acknowledged builds that ended in anything but succeeded. */
  failedByFaults: number;
  /** Acknowledged builds missing, never ending, or whose log or artifact lost something. */
  lost: number;
  store: ChaosStore;
  /** 502/504 answered by nginx itself while a replica was down or frozen (a transport failure: retried, not a controller's answer). */
  gatewayErrors: number;
  /** 503 DATABASE_UNAVAILABLE answered (or seen by a worker) while PostgreSQL restarted. */
  databaseUnavailable: number;
  attempts: number;
  extraAttempts: number;
  fiveHundreds: number;
  submitRetries: number;
  /** Seconds from each fault's end to the next claim (any build's attempt starting). */
  recoverySeconds: number[];
  violations: string[];
  /** Where the processes' output was written when something went wrong. */
  outputDir?: string;
}

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Stands in for node:test's context outside a test: clean-ups run last-registered first. */
export class Cleanups {
  private readonly fns: Array<() => void | Promise<void>> = [];
  after(fn: () => void | Promise<void>): void {
    this.fns.push(fn);
  }
  async run(): Promise<void> {
    for (const fn of this.fns.splice(0).reverse()) await fn();
  }
}

interface Submitted {
  marker: string;
  key: string;
  build?: Build;
}

const between = (rng: () => number, [min, max]: [number, number]): number => Math.round(min + rng() * (max - min));
const TERMINAL = new Set(['succeeded', 'failed', 'canceled', 'timed_out']);

export async function runChaos(options: ChaosOptions, t: { after(fn: () => void | Promise<void>): void }): Promise<ChaosResult> {
  const rng = seededRandom(options.seed);
  const log = options.log ?? (() => {});
  const startedAt = Date.now();
  const rel = (ms: number): string => `+${((ms - startedAt) / 1000).toFixed(1)}s`;

  const store = options.store ?? 'sqlite';

  // Every 5xx any client of this process sees (the workers' own are found in their output). A 502
  // or 504 that is not JSON is nginx's own page: the replica behind it died or froze mid-request.
  const fiveHundreds: string[] = [];
  const gatewayErrors: Array<{ at: number; what: string }> = [];
  // 503 DATABASE_UNAVAILABLE: the controller's answer while PostgreSQL is down (checked against the restarts below).
  const databaseUnavailable: Array<{ at: number; what: string }> = [];
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const response = await realFetch(input, init);
    if (response.status >= 500) {
      const what = `${init?.method ?? 'GET'} ${String(input)} → ${response.status}`;
      const json = (response.headers.get('content-type') ?? '').includes('application/json');
      const body = json ? ((await response.clone().json().catch(() => undefined)) as { error?: { code?: string } } | undefined) : undefined;
      const code = body?.error?.code;
      if (!json && (response.status === 502 || response.status === 504) && store === 'postgres') gatewayErrors.push({ at: Date.now(), what });
      else if (code === 'DATABASE_UNAVAILABLE') databaseUnavailable.push({ at: Date.now(), what: `${what} ${code}` });
      else fiveHundreds.push(`${what}${code ? ` ${code}` : ''}`);
    }
    return response;
  };
  t.after(() => {
    globalThis.fetch = realFetch;
  });

  const server = store === 'postgres' ? await startPostgresServers(options, t, rng) : await startSqliteServer(options, t, rng);
  const admin = server.admin;
  const token = (await admin.createEnrollmentToken('chaos')).secret;

  // Workers keep their name, work dir and identity across restarts.
  const workers: TestWorker[] = [];
  const workerOutputs = new Map<string, string[]>();
  const startWorker = (name: string, dirs?: { workDir: string; configDir: string }): TestWorker =>
    startTestWorker(t, {
      url: server.url,
      enrollmentToken: token,
      name,
      sandbox: 'none',
      env: dirs ? { BUILDMESH_WORK_DIR: dirs.workDir, BUILDMESH_CONFIG_DIR: dirs.configDir } : {},
    });
  for (let i = 0; i < options.workers; i++) workers.push(startWorker(`chaos-${i + 1}`));
  for (const w of workers) await waitForWorkerOnline(admin, w, 60_000);

  const project = makeFixtureProject(t, [
    {
      id: 'work',
      name: 'Echo the markers',
      command: 'for i in 1 2 3 4 5; do echo "$MARKER line $i"; done; sleep "$PAUSE"; for i in 6 7 8 9 10; do echo "$MARKER line $i"; done',
    },
    {
      id: 'app',
      name: 'Write the app',
      command: 'mkdir -p out && head -c "$ARTIFACT_BYTES" /dev/urandom > out/app.bin && echo "sha256=$(sha256sum out/app.bin | cut -d" " -f1)"',
    },
  ]);

  // ── submissions: spread over the first 60 % of the run, each retried with its idempotency key ──
  const submitted: Submitted[] = [];
  let submitRetries = 0;
  const submitWindowMs = options.durationMs * 0.6;
  const pauses = Array.from({ length: options.builds }, () => 1 + Math.round(rng() * 2));
  const submitting = (async () => {
    for (let i = 0; i < options.builds; i++) {
      const due = startedAt + (i * submitWindowMs) / options.builds;
      if (due > Date.now()) await delay(due - Date.now());
      const entry: Submitted = { marker: `chaos-${options.seed}-${i}-${randomUUID().slice(0, 8)}`, key: randomUUID() };
      submitted.push(entry);
      entry.build = await retryTransient(
        async () =>
          admin.createBuild(
            {
              project: 'chaos',
              platform: 'web',
              profile: { name: 'ci', env: {}, config: 'ci.yml', applicationArchivePath: 'out/app.bin' },
              env: { MARKER: entry.marker, PAUSE: String(pauses[i]), ARTIFACT_BYTES: String(options.artifactBytes) },
            },
            await packProject(project),
            { idempotencyKey: entry.key },
          ),
        { onRetry: () => submitRetries++, maxMs: 2000 },
      );
    }
  })();

  // ── faults: spread over the run, each kind at least once when there are enough ──
  const kinds: FaultKind[] = Array.from({ length: options.faults }, (_, i) => FAULT_KINDS[store][i % FAULT_KINDS[store].length]!);
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
  }
  const timeline: FaultEvent[] = [];
  const gap = options.durationMs / (options.faults + 1);
  for (const [i, kind] of kinds.entries()) {
    const due = startedAt + gap * (i + 1) + (rng() - 0.5) * gap * 0.5;
    if (due > Date.now()) await delay(due - Date.now());
    const event = await inject(kind);
    timeline.push(event);
    log(`${rel(event.at)} ${event.kind} ${event.target}: ${event.detail}`);
  }
  await submitting;

  /** A worker running a build if one is within a few seconds (a fault should hit work), else any. */
  async function pickWorker(): Promise<number> {
    const roll = rng();
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const listed = await admin.listWorkers().catch(() => ({ workers: [] }));
      const busy = workers.map((w, i) => (listed.workers.some((l) => l.name === w.name && l.busySlots > 0) ? i : -1)).filter((i) => i >= 0);
      if (busy.length > 0) return busy[Math.floor(roll * busy.length)]!;
      await delay(250);
    }
    return Math.floor(roll * workers.length);
  }

  async function inject(kind: FaultKind): Promise<FaultEvent> {
    const at = Date.now();
    if (!kind.startsWith('worker-')) {
      const { target, detail } = await server.inject(kind);
      return { kind, target, at, endedAt: Date.now(), detail };
    }
    const index = await pickWorker();
    const worker = workers[index]!;
    const dirs = { workDir: worker.workDir, configDir: worker.configDir };
    let detail: string;
    if (kind === 'worker-kill') {
      const downMs = between(rng, options.workerDownMs);
      worker.kill('SIGKILL');
      await worker.exited;
      await delay(downMs);
      detail = `kill -9, down ${downMs} ms`;
    } else {
      worker.kill('SIGTERM');
      // A cleared timer: a pending 120 s one kept the test process alive long after the soak ended.
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([worker.exited.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 120_000)))]);
      clearTimeout(timer);
      if (!drained) worker.kill('SIGKILL');
      await worker.exited;
      detail = drained ? `SIGTERM, drained in ${((Date.now() - at) / 1000).toFixed(1)} s` : 'SIGTERM, not drained in 120 s: killed';
    }
    workerOutputs.set(worker.name, [...(workerOutputs.get(worker.name) ?? []), worker.output()]);
    const restarted = startWorker(worker.name, dirs);
    workers[index] = restarted;
    await waitForWorkerOnline(admin, restarted, 60_000).catch(() => undefined);
    return { kind, target: worker.name, at, endedAt: Date.now(), detail };
  }

  // ── the end: every acknowledged build terminal (killed workers' leases lapse first) ──
  const acked = submitted.filter((s): s is Submitted & { build: Build } => s.build !== undefined);
  const settleMs = options.timing.leaseTtlMs * 3 + 180_000;
  const final = new Map<string, Build>();
  await waitFor(
    async () => {
      for (const s of acked) {
        if (final.has(s.build.id)) continue;
        const build = await admin.getBuild(s.build.id);
        if (TERMINAL.has(build.status)) final.set(build.id, build);
      }
      return final.size === acked.length;
    },
    { timeoutMs: settleMs, intervalMs: 1000, what: 'every acknowledged build to end' },
  ).catch(() => undefined);

  // ── verification ──
  const violations: string[] = [];
  let succeeded = 0;
  let failedByFaults = 0;
  const lostIds = new Set<string>();
  let attempts = 0;
  let extraAttempts = 0;
  const claimTimes: number[] = [];
  const listed: Build[] = [];
  for (let cursor: string | undefined; ; ) {
    const page = await admin.listBuilds({ limit: 200, ...(cursor ? { cursor } : {}) });
    listed.push(...page.builds);
    if (!page.nextCursor || page.builds.length === 0) break;
    cursor = page.nextCursor;
  }
  if (listed.length !== acked.length) violations.push(`${listed.length} builds stored for ${acked.length} acknowledged submits (a retried submit made a second build?)`);
  for (const s of acked) {
    const build = final.get(s.build.id) ?? (await admin.getBuild(s.build.id).catch(() => undefined));
    if (!build || !TERMINAL.has(build.status)) {
      lostIds.add(s.build.id);
      violations.push(`${s.build.id}: ${build ? `still ${build.status}` : 'missing'} at the end`);
      continue;
    }
    const tries = build.attempts ?? [];
    attempts += tries.length;
    extraAttempts += Math.max(0, tries.length - 1);
    for (const a of tries) claimTimes.push(Date.parse(a.startedAt));
    if (build.status !== 'succeeded') {
      failedByFaults++;
      violations.push(`${build.id}: ${build.status} ${build.error?.code ?? ''}: ${build.error?.message ?? ''}`);
      continue;
    }
    succeeded++;
    // Each attempt but the last ended because of a fault that touched it.
    for (const a of tries.slice(0, -1)) {
      const from = Date.parse(a.startedAt) - 1000;
      const to = (a.finishedAt ? Date.parse(a.finishedAt) : Date.now()) + 1000;
      // Server faults (controller, replica, PostgreSQL) may touch any attempt; a worker's only its own.
      const cause = timeline.find((f) => f.at <= to && f.endedAt >= from && (!f.kind.startsWith('worker-') || f.target === a.workerName));
      if (!cause) violations.push(`${build.id}: attempt ${a.number} on ${a.workerName} ended ${a.status} with no fault to explain it`);
    }
    const last = tries.at(-1)!;
    const entries = await readAllLogs(admin, build.id);
    const mine = (e: LogEntry): boolean => e.attempt === last.number && e.stream === 'stdout';
    const lines = entries.filter(mine).map((e) => e.text);
    const markers = lines.filter((l) => l.startsWith(`${s.marker} line `));
    const expected = Array.from({ length: 10 }, (_, i) => `${s.marker} line ${i + 1}`);
    if (JSON.stringify(markers) !== JSON.stringify(expected)) {
      lostIds.add(build.id);
      violations.push(`${build.id}: attempt ${last.number}'s markers are [${markers.map((m) => m.slice(s.marker.length + 1)).join(', ')}], not lines 1–10 once each`);
    }
    const printed = lines.filter((l) => l.startsWith('sha256=')).map((l) => l.slice('sha256='.length));
    const { artifacts } = await admin.listArtifacts(build.id);
    const own = artifacts.filter((a) => a.attemptNumber === last.number);
    if (printed.length !== 1 || own.length !== 1 || own[0]!.sha256 !== printed[0] || own[0]!.size !== options.artifactBytes) {
      lostIds.add(build.id);
      violations.push(`${build.id}: artifact ${JSON.stringify(own.map((a) => [a.name, a.size, a.sha256]))} vs printed ${JSON.stringify(printed)}`);
      continue;
    }
    const download = await admin.downloadArtifact(build.id, own[0]!.id);
    const hash = createHash('sha256');
    for await (const chunk of download.body) hash.update(chunk);
    if (hash.digest('hex') !== printed[0]) {
      lostIds.add(build.id);
      violations.push(`${build.id}: the downloaded artifact does not match its sha256`);
    }
  }

  // 5xx: seen by this process, answered by any controller incarnation, or seen by a worker.
  const controllerOutputs = server.outputs();
  for (const w of workers) workerOutputs.set(w.name, [...(workerOutputs.get(w.name) ?? []), w.output()]);
  const controllerLines = controllerOutputs.join('\n').split('\n');
  const controllerFailures = controllerLines.filter((l) => l.includes('"msg":"request failed"'));
  for (const l of controllerLines.filter((l) => l.includes('"msg":"database unavailable; answered 503"'))) databaseUnavailable.push({ at: lineTime(l) ?? Date.now(), what: l.slice(0, 300) });
  const allWorkerLines = [...workerOutputs.values()].flat().join('\n').split('\n');
  for (const l of allWorkerLines.filter((l) => l.includes('"err":"DATABASE_UNAVAILABLE:'))) databaseUnavailable.push({ at: lineTime(l) ?? Date.now(), what: l.slice(0, 300) });
  const workerLines = allWorkerLines.filter((l) => /"err":"(INTERNAL|SHUTTING_DOWN):/.test(l));
  // What nginx answered itself (not JSON: the client reads it as "INTERNAL: HTTP 502 Bad Gateway").
  const isGateway = (l: string): boolean => store === 'postgres' && /"err":"INTERNAL: HTTP 50[24]( [^"]*)?"/.test(l);
  for (const l of workerLines.filter(isGateway)) gatewayErrors.push({ at: lineTime(l) ?? Date.now(), what: l.slice(0, 300) });
  const workerFiveHundreds = workerLines.filter((l) => !isGateway(l));
  const fiveHundredCount = fiveHundreds.length + controllerFailures.length + workerFiveHundreds.length;
  if (fiveHundredCount > 0) {
    violations.push(`${fiveHundredCount} 5xx: ${[...fiveHundreds, ...controllerFailures, ...workerFiveHundreds].slice(0, 5).join(' | ').slice(0, 2000)}`);
  }
  // A gateway error is a transport failure only while a replica is down or frozen, or PostgreSQL
  // restarts (both replicas answer 503 then): the documented nginx config skips a replica for 5 s
  // after one failure, so it may outlast the fault by that. Any other is a violation.
  const within = (at: number, kinds: FaultKind[], slackMs: number): boolean =>
    timeline.some((f) => kinds.includes(f.kind) && at >= f.at - 1000 && at <= f.endedAt + slackMs);
  const unexplainedGateway = gatewayErrors.filter((g) => !within(g.at, ['replica-kill', 'replica-stop', 'postgres-restart'], 6000));
  if (unexplainedGateway.length > 0) {
    violations.push(`${unexplainedGateway.length} gateway errors with no replica down or frozen: ${unexplainedGateway.slice(0, 5).map((g) => `${rel(g.at)} ${g.what}`).join(' | ').slice(0, 2000)}`);
  }
  // 503 DATABASE_UNAVAILABLE is the right answer while PostgreSQL is down, and only then (a pooled
  // connection ended by the restart may fail one more request just after it).
  const unexplainedUnavailable = databaseUnavailable.filter((d) => !within(d.at, ['postgres-restart'], 3000));
  if (unexplainedUnavailable.length > 0) {
    violations.push(`${unexplainedUnavailable.length} 503 DATABASE_UNAVAILABLE with PostgreSQL up: ${unexplainedUnavailable.slice(0, 5).map((d) => `${rel(d.at)} ${d.what}`).join(' | ').slice(0, 2000)}`);
  }
  // A server process that died without being killed is a crash, even if a later fault restarted it.
  const crashes = server.unexpectedExits();
  if (crashes.length > 0) violations.push(`${crashes.length} server processes exited on their own: ${crashes.join(' | ').slice(0, 2000)}`);

  const sortedClaims = claimTimes.sort((a, b) => a - b);
  const recoverySeconds = timeline
    .map((f) => sortedClaims.find((c) => c >= f.endedAt))
    .map((c, i) => (c === undefined ? undefined : (c - timeline[i]!.endedAt) / 1000))
    .filter((s): s is number => s !== undefined);

  const result: ChaosResult = {
    seed: options.seed,
    startedAt,
    timeline,
    submitted: submitted.length,
    acknowledged: acked.length,
    succeeded,
    failedByFaults,
    lost: lostIds.size,
    store,
    gatewayErrors: gatewayErrors.length,
    databaseUnavailable: databaseUnavailable.length,
    attempts,
    extraAttempts,
    fiveHundreds: fiveHundredCount,
    submitRetries,
    recoverySeconds,
    violations,
  };
  if (violations.length > 0) {
    // Keep the evidence: every process's output, for the post-mortem.
    const dir = mkdtempSync(join(tmpdir(), `buildmesh-chaos-${options.seed}-`));
    for (const [name, outputs] of server.outputsByName()) writeFileSync(join(dir, `${name}.log`), outputs.join('\n--- restarted ---\n'));
    for (const [name, outputs] of workerOutputs) writeFileSync(join(dir, `${name}.log`), outputs.join('\n--- restarted ---\n'));
    writeFileSync(join(dir, 'result.json'), JSON.stringify(result, null, 2));
    result.outputDir = dir;
  }
  return result;
}

/** The fault timeline and the totals, as `npm run soak` prints them. */
export function formatChaos(result: ChaosResult): string {
  const rel = (ms: number): string => `+${((ms - result.startedAt) / 1000).toFixed(1)}s`.padStart(8);
  const lines = [`seed ${result.seed}, ${result.store === 'postgres' ? 'PostgreSQL, two replicas behind nginx' : 'SQLite, one controller'}`, 'fault timeline:'];
  for (const f of result.timeline) lines.push(`  ${rel(f.at)}  ${f.kind.padEnd(16)} ${f.target.padEnd(10)} ${f.detail}`);
  const byKind = FAULT_KINDS[result.store].map((k) => `${k} ${result.timeline.filter((f) => f.kind === k).length}`).join(', ');
  const sorted = [...result.recoverySeconds].sort((a, b) => a - b);
  const p50 = sorted.length ? sorted[Math.ceil(sorted.length / 2) - 1]! : NaN;
  lines.push(
    'totals:',
    `  faults            ${result.timeline.length} (${byKind})`,
    `  builds            ${result.submitted} submitted, ${result.acknowledged} acknowledged, ${result.succeeded} succeeded`,
    `  failed by faults  ${result.failedByFaults}`,
    `  lost              ${result.lost}`,
    `  attempts          ${result.attempts} (${result.extraAttempts} beyond the first, each explained by a fault)`,
    `  submit retries    ${result.submitRetries}`,
    `  5xx seen          ${result.fiveHundreds}`,
    ...(result.store === 'postgres'
      ? [
          `  gateway errors    ${result.gatewayErrors} (nginx's own 502/504 while a replica was down or frozen or PostgreSQL restarted; retried)`,
          `  db unavailable    ${result.databaseUnavailable} (503 DATABASE_UNAVAILABLE while PostgreSQL restarted; retried)`,
        ]
      : []),
    `  recovery p50      ${p50.toFixed(1)} s (fault over → next claim)`,
  );
  if (result.violations.length) {
    lines.push(`violations (${result.violations.length}):`, ...result.violations.slice(0, 30).map((v) => `  ${v}`));
    if (result.outputDir) lines.push(`process output kept in ${result.outputDir}`);
  }
  return lines.join('\n');
}

/** Removes a kept output directory (the test does when it passed). */
export function removeOutput(result: ChaosResult): void {
  if (result.outputDir) rmSync(result.outputDir, { recursive: true, force: true });
}


/** The time of a JSON log line (pino's epoch-ms `time`), if it has one. */
function lineTime(line: string): number | undefined {
  const m = /"time":(\d{13})/.exec(line);
  return m ? Number(m[1]) : undefined;
}

/** What the soak needs of the server side: where clients go, the admin, its faults, its output. */
interface ChaosServer {
  /** The URL workers and the submitting client use (the controller, or nginx). */
  url: string;
  admin: BuildMeshClient;
  /** Injects a server fault and returns once it is over (answering again, resumed, restarted). */
  inject(kind: FaultKind): Promise<{ target: string; detail: string }>;
  /** Every incarnation's output of every server process. */
  outputs(): string[];
  outputsByName(): Map<string, string[]>;
  /** Server processes that exited without being killed by a fault (a crash). */
  unexpectedExits(): string[];
}

/** Records when a process exits unless `expected()` says a fault killed it. */
function watchExit(proc: TestProcess, name: string, expected: () => boolean, exits: string[]): void {
  void proc.exited.then((code) => {
    if (!expected()) exits.push(`${name} (pid ${proc.pid}) exited ${code}: ${proc.output().slice(-600)}`);
  });
}

async function startSqliteServer(options: ChaosOptions, t: { after(fn: () => void | Promise<void>): void }, rng: () => number): Promise<ChaosServer> {
  const controller = await startTestController(t, { timing: options.timing, env: { BUILDMESH_LOG_LEVEL: 'warn' } });
  const earlier: string[] = [];
  const exits: string[] = [];
  let killing = false;
  let ended = false;
  t.after(() => {
    ended = true;
  });
  watchExit(controller.process, 'controller', () => killing || ended, exits);
  return {
    url: controller.url,
    admin: controller.admin,
    async inject(kind) {
      const at = Date.now();
      if (kind === 'controller-kill') {
        const downMs = between(rng, options.controllerDownMs);
        killing = true;
        await controller.crash();
        killing = false;
        earlier.push(controller.process.output());
        await delay(downMs);
        await controller.restart();
        watchExit(controller.process, 'controller', () => killing || ended, exits);
        return { target: 'controller', detail: `kill -9, down ${downMs} ms, answering again after ${((Date.now() - at) / 1000).toFixed(1)} s` };
      }
      if (kind === 'controller-stop') {
        const stopMs = between(rng, options.controllerStopMs);
        controller.process.kill('SIGSTOP');
        await delay(stopMs);
        controller.process.kill('SIGCONT');
        return { target: 'controller', detail: `SIGSTOP for ${stopMs} ms` };
      }
      throw new Error(`${kind} is not a fault of the SQLite soak`);
    },
    outputs: () => [...earlier, controller.process.output()],
    outputsByName: () => new Map([['controller', [...earlier, controller.process.output()]]]),
    unexpectedExits: () => [...exits],
  };
}

/**
 * Two replicas behind nginx on a private PostgreSQL instance (test/helpers/private-postgres.ts):
 * restarting it touches no other test. Faults come one at a time, so both replicas are never
 * down together and PostgreSQL is never restarted while a replica is down.
 */
async function startPostgresServers(options: ChaosOptions, t: { after(fn: () => void | Promise<void>): void }, rng: () => number): Promise<ChaosServer> {
  const postgres = await startPrivatePostgres(t);
  const set = await startReplicaSet(t, {
    timing: options.timing,
    env: { BUILDMESH_LOG_LEVEL: 'warn' },
    database: { url: postgres.adminUrl, name: 'buildmesh', drop: async () => undefined },
  });
  const earlier = new Map<string, string[]>(set.replicas.map((r) => [r.id, []]));
  const exits: string[] = [];
  let restarts = 0;
  let killing: string | undefined;
  let ended = false;
  t.after(() => {
    ended = true;
  });
  for (const r of set.replicas) watchExit(r.process, r.id, () => killing === r.id || ended, exits);
  const byName = (): Map<string, string[]> => {
    const all = new Map<string, string[]>();
    for (const r of set.replicas) all.set(r.id, [...earlier.get(r.id)!, r.process.output()]);
    all.set('postgres', [postgres.log()]);
    return all;
  };
  return {
    url: set.balancerUrl,
    admin: set.admin,
    async inject(kind) {
      const at = Date.now();
      if (kind === 'postgres-restart') {
        const downMs = between(rng, options.postgresDownMs ?? [2000, 4000]);
        // Every other restart is a crash (immediate shutdown: sessions cut without a word, crash recovery on start).
        const mode = restarts++ % 2 === 0 ? 'fast' : 'immediate';
        await postgres.restart(downMs, mode);
        return { target: 'postgres', detail: `${mode} shutdown, down ${downMs} ms, accepting connections again after ${((Date.now() - at) / 1000).toFixed(1)} s` };
      }
      const replica = set.replicas[Math.floor(rng() * set.replicas.length)]!;
      if (kind === 'replica-kill') {
        const downMs = between(rng, options.controllerDownMs);
        killing = replica.id;
        await replica.crash();
        killing = undefined;
        earlier.get(replica.id)!.push(replica.process.output());
        await delay(downMs);
        await replica.restart();
        watchExit(replica.process, replica.id, () => killing === replica.id || ended, exits);
        return { target: replica.id, detail: `kill -9, down ${downMs} ms, answering again after ${((Date.now() - at) / 1000).toFixed(1)} s` };
      }
      if (kind === 'replica-stop') {
        const stopMs = between(rng, options.controllerStopMs);
        replica.process.kill('SIGSTOP');
        await delay(stopMs);
        replica.process.kill('SIGCONT');
        return { target: replica.id, detail: `SIGSTOP for ${stopMs} ms` };
      }
      throw new Error(`${kind} is not a fault of the PostgreSQL soak`);
    },
    outputs: () => [...byName().entries()].filter(([name]) => name !== 'postgres').flatMap(([, outputs]) => outputs),
    outputsByName: byName,
    unexpectedExits: () => [...exits],
  };
}
