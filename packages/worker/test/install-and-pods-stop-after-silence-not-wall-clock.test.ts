import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command, Phase, PhaseContext } from '../src/runner/plan.js';
import { INSTALL_IDLE_TIMEOUT } from '../src/pipelines/common.js';
import { installNodeModules } from '../src/custom/functions/install-node-modules.js';
import { installPods } from '../src/custom/functions/install-pods.js';
import type { CustomPlanServices, FunctionRunContext } from '../src/custom/functions/types.js';
import { outputOf, runnerHarness } from './support/runner-fixtures.js';

// The pipelines use EAS's 15 / 30 minutes (INSTALL_IDLE_TIMEOUT); the runner takes any duration.
const idleTimeout = { warnAfterMs: 400, killAfterMs: 1500 };
const sh = (name: string, script: string): Phase => ({
  name,
  steps: [{ kind: 'command', command: { argv: ['bash', '-c', script] } }],
  idleTimeout,
});

void test('a command that prints, then stays silent past the idle limit, is stopped as idle with a warning first', async (t) => {
  const h = await runnerHarness(t);
  await h.runner.run([sh('INSTALL_DEPENDENCIES', 'echo resolving; sleep 20; echo never')]);
  const result = h.runner.result();
  assert.equal(result.outcome, 'timed_out');
  assert.equal(result.error?.code, 'PHASE_TIMED_OUT');
  assert.equal(result.error?.phase, 'INSTALL_DEPENDENCIES');
  assert.match(result.error!.message, /no output for 1\.5s/);
  assert.deepEqual(outputOf(h.lines, 'INSTALL_DEPENDENCIES'), ['resolving']);
  const system = h.lines.filter((l) => l.phase === 'INSTALL_DEPENDENCIES' && l.stream === 'system').map((l) => l.text);
  assert.ok(system.some((text) => /^warning: no output for /.test(text)), `a warning precedes the stop: ${JSON.stringify(system)}`);
});

void test('a command that keeps printing runs past the same span of time and succeeds', async (t) => {
  const h = await runnerHarness(t);
  // 3 s in all, twice the idle limit, with output every 0.1 s.
  await h.runner.run([sh('INSTALL_PODS', 'for i in $(seq 30); do echo "pod $i"; sleep 0.1; done')]);
  const result = h.runner.result();
  assert.equal(result.outcome, 'succeeded', JSON.stringify(result.error));
  assert.equal(outputOf(h.lines, 'INSTALL_PODS').length, 30);
  assert.ok(!h.lines.some((l) => /no output for/.test(l.text)), 'no idle warning for a chatty command');
});

void test("EAS's limits: a warning after 15 minutes of silence, the stop after 30", () => {
  assert.deepEqual(INSTALL_IDLE_TIMEOUT, { warnAfterMs: 15 * 60_000, killAfterMs: 30 * 60_000 });
});

void test("a command's own idle limit applies where its phase has none (a custom build's task running it)", async (t) => {
  const h = await runnerHarness(t);
  const command: Command = { argv: ['bash', '-c', 'echo fetching; sleep 20'], idleTimeout };
  await h.runner.run([{ name: 'CUSTOM', steps: [{ kind: 'task', describe: 'install', run: async (ctx) => void (await ctx.exec(command)) }] }]);
  const result = h.runner.result();
  assert.equal(result.outcome, 'timed_out');
  assert.equal(result.error?.code, 'PHASE_TIMED_OUT');
  assert.match(result.error!.message, /no output for 1\.5s/);
});

void test('eas/install_node_modules and eas/install_pods run their command with the same idle limit as the pipeline', async () => {
  const commands: Command[] = [];
  const phase = { env: {}, log: () => {}, exec: async (command: Command) => (commands.push(command), { outputs: {} }) } as unknown as PhaseContext;
  const services = {
    planContext: async () => ({ pm: { name: 'npm', lockfile: 'package-lock.json', warnings: [] }, packageJson: {}, installCwd: undefined }),
  } as unknown as CustomPlanServices;
  const ctx: FunctionRunContext = { phase, services, inputs: {}, env: {}, setOutput: () => {} };
  await installNodeModules.run!(ctx);
  await installPods.run!(ctx);
  assert.equal(commands.length, 2);
  for (const command of commands) assert.deepEqual(command.idleTimeout, INSTALL_IDLE_TIMEOUT, command.argv.join(' '));
});
