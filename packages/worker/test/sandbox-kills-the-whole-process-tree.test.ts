import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BwrapExecutor } from '../src/sandbox/bwrap.js';
import type { ExecRequest, Executor } from '../src/sandbox/executor.js';
import { NoneExecutor } from '../src/sandbox/none.js';
import { bwrapSkipper, TEST_BWRAP_PATH } from '../../../test/helpers/bwrap.js';
import { createWorkspace, type Workspace } from '../src/workspace/workspace.js';

const GRACE_MS = 1000;
const bwrap = await bwrapSkipper();

const executors: Array<{ name: string; skip: () => string | false; create: () => Executor }> = [
  { name: 'none', skip: () => (process.platform === 'linux' ? false : 'the checks read /proc'), create: () => new NoneExecutor({ killGraceMs: GRACE_MS }) },
  { name: 'bwrap', skip: () => bwrap.skip(), create: () => new BwrapExecutor({ hiddenPaths: [], killGraceMs: GRACE_MS, bwrapPath: TEST_BWRAP_PATH }) },
];

let root: string;
let workspace: Workspace;
before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'bm-tree-'));
  workspace = await createWorkspace(root, 'att_tree');
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/**
 * Host pids of every process whose command line contains `marker`. Inside bwrap's PID namespace
 * `$!` is a namespace pid, meaningless to the host, so the script's processes are recognised by a
 * unique `sleep` duration instead of a pid file.
 */
function pidsWithMarker(marker: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(marker)) pids.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/**
 * kill(pid, 0) succeeds for zombies too, and here PID 1 does not reap re-parented orphans, so a
 * killed process may linger as a zombie forever: that is dead, not alive.
 */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function request(argv: string[], extra: Partial<ExecRequest> = {}): ExecRequest & { lines: string[] } {
  const lines: string[] = [];
  return { argv, cwd: workspace.projectDir, env: {}, network: false, onLine: (_s, line) => lines.push(line), lines, ...extra };
}

/** A unique sleep duration: `sleep 4711.123456` is as good as `sleep 4711` and findable in /proc. */
const newMarker = () => `${4000 + randomInt(1000)}.${randomInt(100_000, 999_999)}`;

/**
 * Background jobs of several kinds: a plain `&` job, one in a subshell, one that left the process
 * group with setsid (its parent stays alive), and, after `trap '' TERM`, a root and a job that
 * ignore SIGTERM, so that only the SIGKILL after the grace period ends the step.
 */
const treeScript = (marker: string) => `
  sleep ${marker} &
  ( sleep ${marker} & wait ) &
  setsid sleep ${marker} &
  trap '' TERM
  sleep ${marker} &
  echo ready
  wait
`;

for (const { name, skip, create } of executors) {
  void test(`${name}: aborting stops every process of the step's tree within the grace period`, { skip: skip() }, async () => {
    const executor = create();
    await executor.prepare(workspace.root);
    const marker = newMarker();
    const abort = new AbortController();
    const req = request(['bash', '-c', treeScript(marker)], { signal: abort.signal });
    const running = executor.run(req);

    let pids: number[] = [];
    for (let i = 0; i < 100 && pids.length < 4; i++) {
      await sleep(50);
      pids = req.lines.includes('ready') ? pidsWithMarker(marker) : [];
    }
    // bash, the & job, the subshell and its sleep, the setsid sleep (plus bwrap's own processes, whose argv holds the script)
    assert.ok(pids.length >= 4, `expected the whole tree to be running, found ${pids.length} processes`);

    const abortedAt = Date.now();
    abort.abort();
    const result = await running;
    const stoppedAfter = Date.now() - abortedAt;
    assert.equal(result.canceled, true);
    assert.equal(result.timedOut, false);
    assert.ok(stoppedAfter >= GRACE_MS - 50, `SIGKILL came after ${stoppedAfter} ms, before the grace period`);
    assert.ok(stoppedAfter < GRACE_MS + 1000, `run() took ${stoppedAfter} ms after abort`);
    assert.deepEqual(pids.filter(isAlive), [], 'processes of the step survived the abort');
    assert.deepEqual(pidsWithMarker(marker).filter(isAlive), [], 'new processes of the step appeared');
    await executor.dispose();
  });

  void test(`${name}: a step is sent SIGTERM first and may shut down cleanly`, { skip: skip() }, async () => {
    const executor = create();
    await executor.prepare(workspace.root);
    const abort = new AbortController();
    const req = request(['bash', '-c', 'trap "echo cleaning up; exit 3" TERM; echo ready; sleep 60 & wait'], { signal: abort.signal });
    const running = executor.run(req);
    // Bounded: where the executor cannot start at all (CI without bwrap) this fails instead of hanging.
    for (let i = 0; i < 500 && !req.lines.includes('ready'); i++) await sleep(20);
    assert.ok(req.lines.includes('ready'), `the step never started: ${JSON.stringify(req.lines)}`);
    abort.abort();
    const result = await running;
    assert.equal(result.canceled, true);
    assert.ok(req.lines.includes('cleaning up'), `the step never saw SIGTERM: ${JSON.stringify(req.lines)}`);
    assert.equal(result.exitCode, 3);
    await executor.dispose();
  });

  void test(`${name}: a step that exits normally does not leave background jobs behind`, { skip: skip() }, async () => {
    const executor = create();
    await executor.prepare(workspace.root);
    const marker = newMarker();
    const result = await executor.run(request(['bash', '-c', `sleep ${marker} & ( sleep ${marker} & ) ; exit 0`]));
    assert.equal(result.exitCode, 0);
    assert.deepEqual(pidsWithMarker(marker).filter(isAlive), []);
    await executor.dispose();
  });

  void test(`${name}: a timeout is reported as timedOut and stops the tree`, { skip: skip() }, async () => {
    const executor = create();
    await executor.prepare(workspace.root);
    const marker = newMarker();
    const started = Date.now();
    const result = await executor.run(request(['bash', '-c', `sleep ${marker} & sleep ${marker}`], { timeoutMs: 300 }));
    assert.equal(result.timedOut, true);
    assert.equal(result.canceled, false);
    assert.notEqual(result.exitCode, 0);
    assert.ok(Date.now() - started < 300 + GRACE_MS + 1000);
    assert.deepEqual(pidsWithMarker(marker).filter(isAlive), []);
    await executor.dispose();
  });

  void test(`${name}: the step's environment is the allowlist plus the job's variables`, { skip: skip() }, async () => {
    process.env.BUILDMESH_TEST_WORKER_SECRET = 'must-not-leak';
    try {
      const executor = create();
      await executor.prepare(workspace.root);
      const req = request(['env'], { env: { JOB_VARIABLE: 'from-the-job' } });
      const result = await executor.run(req);
      assert.equal(result.exitCode, 0);
      const env = new Map(req.lines.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
      assert.equal(env.has('BUILDMESH_TEST_WORKER_SECRET'), false, 'a worker variable leaked into the step');
      assert.equal(env.get('JOB_VARIABLE'), 'from-the-job');
      assert.equal(env.get('HOME'), workspace.homeDir);
      assert.equal(env.get('TMPDIR'), workspace.tmpDir);
      assert.ok(env.get('PATH'));
      await executor.dispose();
    } finally {
      delete process.env.BUILDMESH_TEST_WORKER_SECRET;
    }
  });
}
