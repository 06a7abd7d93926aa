/**
 * Under the none executor (no PID namespace), every descendant of a step is stopped when the step
 * ends — also those that left its process group and lost their parent chain: setsid, nohup, a
 * double fork. They are found by the step's marker variable in /proc/<pid>/environ. The control
 * runs the same script through the process-tree runner without a marker: the double-forked
 * setsid process survives there, so this test fails if the marker search stops working.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NoneExecutor } from '../src/sandbox/none.js';
import { runProcessTree } from '../src/sandbox/spawn-tree.js';
import { createWorkspace, type Workspace } from '../src/workspace/workspace.js';

const skip = process.platform === 'linux' ? false : 'the none executor finds descendants through /proc (Linux)';
let root: string;
let workspace: Workspace;
before(async () => {
  if (skip) return;
  root = await mkdtemp(path.join(os.tmpdir(), 'bm-none-descendants-'));
  workspace = await createWorkspace(root, 'att_descendants');
});
after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

/** Live pids of `sleep <tag>.*` processes (zombies do not count). */
function sleepers(tag: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      const state = readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1]?.[0];
      if (cmdline.startsWith('sleep\0') && cmdline.includes(`\0${tag}.`) && state !== 'Z') pids.push(Number(name));
    } catch {
      // gone
    }
  }
  return pids;
}

const script = (tag: string) =>
  [
    `setsid sleep ${tag}.1 >/dev/null 2>&1 < /dev/null &`,
    `nohup sleep ${tag}.2 >/dev/null 2>&1 &`,
    // double fork + setsid: re-parented away from the step, in a session and group of its own
    `( ( setsid sleep ${tag}.3 >/dev/null 2>&1 < /dev/null & ) & )`,
    `( setsid sh -c 'sleep ${tag}.4 & wait' >/dev/null 2>&1 < /dev/null & )`,
    'sleep 0.3',
    'exit 0',
  ].join('\n');

void test('control: without the marker, a double-forked setsid process outlives its step', { skip }, async () => {
  const tag = `${6000 + Math.floor(Math.random() * 1000)}`;
  try {
    await runProcessTree({ argv: ['bash', '-c', script(tag)], cwd: workspace.projectDir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, onLine: () => {}, killGraceMs: 500 });
    await sleep(100);
    assert.ok(sleepers(tag).length > 0, 'expected an escaped process without the marker search');
  } finally {
    for (const pid of sleepers(tag)) process.kill(pid, 'SIGKILL');
  }
});

void test('none: setsid, nohup and double-forked descendants are stopped when the step ends', { skip }, async () => {
  const tag = `${7000 + Math.floor(Math.random() * 1000)}`;
  const executor = new NoneExecutor({ killGraceMs: 500 });
  await executor.prepare(workspace.root);
  try {
    const run = executor.run({ argv: ['bash', '-c', script(tag)], cwd: workspace.projectDir, env: {}, network: false, onLine: () => {} });
    let seen = 0;
    for (let i = 0; i < 25 && seen < 4; i++) {
      await sleep(10);
      seen = sleepers(tag).length;
    }
    const result = await run;
    assert.equal(result.exitCode, 0);
    assert.equal(seen, 4, 'control: all four background processes ran during the step');
    assert.deepEqual(sleepers(tag), [], 'a descendant outlived the step');
  } finally {
    for (const pid of sleepers(tag)) process.kill(pid, 'SIGKILL');
    await executor.dispose();
  }
});

void test('none: a canceled step takes its escaped descendants with it', { skip }, async () => {
  const tag = `${8000 + Math.floor(Math.random() * 1000)}`;
  const executor = new NoneExecutor({ killGraceMs: 500 });
  await executor.prepare(workspace.root);
  const stop = new AbortController();
  try {
    const run = executor.run({
      argv: ['bash', '-c', script(tag).replace('sleep 0.3', 'sleep 300')],
      cwd: workspace.projectDir,
      env: {},
      network: false,
      signal: stop.signal,
      onLine: () => {},
    });
    for (let i = 0; i < 100 && sleepers(tag).length < 4; i++) await sleep(10);
    assert.equal(sleepers(tag).length, 4, 'control: all four background processes started');
    stop.abort();
    const result = await run;
    assert.equal(result.canceled, true);
    assert.deepEqual(sleepers(tag), [], 'a descendant outlived the canceled step');
  } finally {
    for (const pid of sleepers(tag)) process.kill(pid, 'SIGKILL');
    await executor.dispose();
  }
});
