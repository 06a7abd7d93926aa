import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Phase } from '../src/runner/plan.js';
import { BuildFailure } from '../src/runner/build-failure.js';
import { markers, outputOf, runnerHarness } from './support/runner-fixtures.js';

const sh = (name: string, script: string, extra: Partial<Phase> = {}): Phase => ({
  name,
  steps: [{ kind: 'command', command: { argv: ['bash', '-eo', 'pipefail', '-c', script] } }],
  ...extra,
});

void test('each phase is framed by START/END markers with result and exit code, every output line carries phase and stream', async (t) => {
  const h = await runnerHarness(t, { env: { GREETING: 'hello' } });
  await h.runner.run([sh('FIRST', 'echo "$GREETING out"; echo err >&2'), sh('SECOND', 'printf "a\\nb\\nno-newline"')]);
  const result = h.runner.result();
  assert.equal(result.outcome, 'succeeded');
  assert.deepEqual(result.phases.map((p) => [p.name, p.result]), [['FIRST', 'success'], ['SECOND', 'success']]);
  assert.deepEqual(markers(h.lines), [
    { phase: 'FIRST', marker: 'START_PHASE' },
    { phase: 'FIRST', marker: 'END_PHASE', result: 'success', exitCode: 0 },
    { phase: 'SECOND', marker: 'START_PHASE' },
    { phase: 'SECOND', marker: 'END_PHASE', result: 'success', exitCode: 0 },
  ]);
  assert.deepEqual(outputOf(h.lines, 'FIRST').sort(), ['err', 'hello out']);
  assert.equal(h.lines.find((l) => l.text === 'err')?.stream, 'stderr');
  assert.equal(h.lines.find((l) => l.text === 'hello out')?.stream, 'stdout');
  assert.deepEqual(outputOf(h.lines, 'SECOND'), ['a', 'b', 'no-newline']);
  const end = h.lines.find((l) => l.marker === 'END_PHASE');
  assert.equal(typeof end?.durationMs, 'number');
  for (const line of h.lines) assert.equal(typeof line.t, 'number');
});

void test('a failing phase stops the plan; on-failure and always phases run, later normal ones are skipped', async (t) => {
  const h = await runnerHarness(t);
  await h.runner.run([
    sh('BUILD', 'echo compiling; exit 3'),
    sh('NEVER', 'echo should-not-run'),
    sh('ON_ERROR', 'echo cleaning-after-failure', { always: 'on-failure' }),
    sh('ON_SUCCESS', 'echo only-on-success', { always: 'on-success' }),
    sh('CLEANUP', 'echo cleanup', { always: 'always' }),
  ]);
  const result = h.runner.result();
  assert.equal(result.outcome, 'failed');
  assert.equal(result.error?.code, 'STEP_FAILED');
  assert.equal(result.error?.phase, 'BUILD');
  assert.match(result.error!.message, /exit code 3/);
  assert.deepEqual(result.phases.map((p) => [p.name, p.result]), [
    ['BUILD', 'failed'],
    ['NEVER', 'skipped'],
    ['ON_ERROR', 'success'],
    ['ON_SUCCESS', 'skipped'],
    ['CLEANUP', 'success'],
  ]);
  assert.deepEqual(outputOf(h.lines), ['compiling', 'cleaning-after-failure', 'cleanup']);
  assert.deepEqual(markers(h.lines).find((m) => m.phase === 'BUILD' && m.marker === 'END_PHASE'), { phase: 'BUILD', marker: 'END_PHASE', result: 'failed', exitCode: 3 });
});

void test('an optional phase that fails only warns; the build goes on and succeeds', async (t) => {
  const h = await runnerHarness(t);
  await h.runner.run([sh('DOCTOR', 'exit 1', { optional: true }), sh('BUILD', 'echo built')]);
  const result = h.runner.result();
  assert.equal(result.outcome, 'succeeded');
  assert.deepEqual(result.phases.map((p) => p.result), ['warning', 'success']);
});

void test('a failure is classified from the last 100 lines of the failed phase only', async (t) => {
  const h = await runnerHarness(t);
  const classify = [{ code: 'GRADLE_OUT_OF_MEMORY', pattern: /java\.lang\.OutOfMemoryError/, explanation: 'Gradle ran out of memory.' }];
  await h.runner.run([sh('OLD', 'echo java.lang.OutOfMemoryError; exit 1', { classify })]);
  assert.equal(h.runner.result().error?.code, 'GRADLE_OUT_OF_MEMORY');
  assert.equal(h.runner.result().error?.message, 'Gradle ran out of memory.');

  // 150 lines after the telling one push it out of the last 100.
  const h2 = await runnerHarness(t);
  await h2.runner.run([sh('PUSHED_OUT', 'echo java.lang.OutOfMemoryError; for i in $(seq 150); do echo line $i; done; exit 1', { classify })]);
  assert.equal(h2.runner.result().error?.code, 'STEP_FAILED');

  const h3 = await runnerHarness(t);
  await h3.runner.run([sh('EARLIER', 'echo java.lang.OutOfMemoryError'), sh('LATER', 'exit 1', { classify })]);
  assert.equal(h3.runner.result().error?.code, 'STEP_FAILED', 'lines of an earlier phase do not classify a later one');
});

void test('a phase over its timeout is stopped and the build times out with PHASE_TIMED_OUT; always phases still run', async (t) => {
  const h = await runnerHarness(t);
  const started = Date.now();
  await h.runner.run([sh('SLOW', 'echo started; sleep 30', { timeoutMs: 400 }), sh('CLEANUP', 'echo cleanup', { always: 'always' })]);
  const result = h.runner.result();
  assert.ok(Date.now() - started < 5000, 'the sleeping step was killed, not waited for');
  assert.equal(result.outcome, 'timed_out');
  assert.equal(result.error?.code, 'PHASE_TIMED_OUT');
  assert.equal(result.error?.phase, 'SLOW');
  assert.deepEqual(result.phases.map((p) => p.result), ['timed_out', 'success']);
});

void test('a canceled build stops the running step, runs only always phases, and ends canceled', async (t) => {
  const h = await runnerHarness(t);
  setTimeout(() => h.controller.abort('canceled'), 300);
  const started = Date.now();
  await h.runner.run([
    sh('LONG', 'echo running; sleep 30'),
    sh('NEXT', 'echo next'),
    sh('ON_ERROR', 'echo on-error', { always: 'on-failure' }),
    sh('CLEANUP', 'echo cleanup-after-cancel', { always: 'always' }),
  ]);
  const result = h.runner.result();
  assert.ok(Date.now() - started < 5000);
  assert.equal(result.outcome, 'canceled');
  assert.equal(result.error?.code, 'BUILD_CANCELED');
  assert.deepEqual(result.phases.map((p) => [p.name, p.result]), [
    ['LONG', 'canceled'],
    ['NEXT', 'skipped'],
    ['ON_ERROR', 'skipped'],
    ['CLEANUP', 'success'],
  ]);
  assert.ok(outputOf(h.lines).includes('cleanup-after-cancel'));
});

void test('a build timeout (stop reason timed_out) ends the build timed_out with BUILD_TIMED_OUT', async (t) => {
  const h = await runnerHarness(t);
  setTimeout(() => h.controller.abort('timed_out'), 200);
  await h.runner.run([sh('LONG', 'sleep 30')]);
  const result = h.runner.result();
  assert.equal(result.outcome, 'timed_out');
  assert.equal(result.error?.code, 'BUILD_TIMED_OUT');
});

void test('working directories resolve inside the project; a symlink leading out is refused', async (t) => {
  const h = await runnerHarness(t);
  mkdirSync(join(h.workspace.projectDir, 'packages', 'app'), { recursive: true });
  symlinkSync('/etc', join(h.workspace.projectDir, 'etc-link'));
  await h.runner.run([{ name: 'IN_APP', steps: [{ kind: 'command', command: { argv: ['pwd'], cwd: 'packages/app' } }] }]);
  assert.deepEqual(outputOf(h.lines, 'IN_APP'), [join(h.workspace.projectDir, 'packages', 'app')]);

  await h.runner.run([{ name: 'ESCAPE', steps: [{ kind: 'command', command: { argv: ['pwd'], cwd: 'etc-link' } }] }]);
  const result = h.runner.result();
  assert.equal(result.outcome, 'failed');
  assert.equal(result.error?.phase, 'ESCAPE');
  assert.match(result.error!.message, /outside the project/);
  assert.deepEqual(outputOf(h.lines, 'ESCAPE'), []);
});

void test('tasks run in-process with the phase context; a BuildFailure keeps its code', async (t) => {
  const h = await runnerHarness(t, { env: { A: '1' } });
  let seen: string | undefined;
  await h.runner.run([
    {
      name: 'WRITE',
      steps: [
        {
          kind: 'task',
          describe: 'write a file',
          run: async (ctx) => {
            seen = ctx.env.A;
            writeFileSync(join(ctx.projectDir, 'from-task.txt'), 'x');
            ctx.log('task wrote a file');
          },
        },
        { kind: 'command', command: { argv: ['cat', 'from-task.txt'] } },
      ],
    },
    { name: 'BROKEN', steps: [{ kind: 'task', describe: 'fail', run: async () => { throw new BuildFailure('CREDENTIALS_MISSING', 'no keystore'); } }] },
  ]);
  assert.equal(seen, '1');
  assert.deepEqual(outputOf(h.lines, 'WRITE'), ['x']);
  assert.ok(h.lines.some((l) => l.stream === 'system' && l.text === 'task wrote a file'));
  assert.deepEqual(h.runner.result().error, { code: 'CREDENTIALS_MISSING', message: 'no keystore', phase: 'BROKEN' });
});
