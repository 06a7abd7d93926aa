/**
 * Warm builds through a real controller and a real bwrap worker serving two orgs (shared pool),
 * with a real `npm ci` against a loopback registry stand-in that counts tarball downloads:
 *  - org A's second build of the same project restores the npm cache and node_modules (RESTORE_CACHE
 *    says hit), downloads nothing, and skips the install saying why;
 *  - a lockfile change misses the exact key, restores the closest older entry, and downloads only
 *    the new package;
 *  - org B's build of the same project misses (downloads everything again), and from inside its
 *    sandbox cannot read or write the worker's cache directory; org A's entry is untouched;
 *  - a build that fails saves nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { BuildMeshClient, type LogEntry } from '@buildmesh/protocol';
import { CacheStore } from '../../packages/worker/src/cache/store.js';
import { bwrapSkipper } from '../helpers/bwrap.js';
import { packProject, readAllLogs, waitForStatus } from '../helpers/builds.js';
import { startTestController } from '../helpers/controller.js';
import { startRegistryStandIn } from '../helpers/npm-registry-stand-in.js';
import { startTestWorker, waitForWorkerOnline } from '../helpers/worker.js';

const bwrap = await bwrapSkipper();

const PROBE = `
const fs = require('fs');
const dir = process.env.PROBE_DIR;
try { console.log('probe: read ' + JSON.stringify(fs.readdirSync(dir + '/orgs'))); } catch (e) { console.log('probe: read refused ' + e.code); }
// Whatever this creates lands in the sandbox's throwaway root, never in the worker's cache dir (checked on the host).
try { fs.mkdirSync(dir + '/orgs/poison', { recursive: true }); } catch (e) { console.log('probe: write refused ' + e.code); }
`;

function phaseLines(log: LogEntry[], phase: string): string[] {
  return log.filter((e) => e.phase === phase && !e.marker).map((e) => e.text);
}

function writeProject(t: TestContext, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'buildmesh-warm-project-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test('a second build restores its org’s cache; a lockfile change misses; another org sees nothing of it', { skip: bwrap.skip(), timeout: 10 * 60_000 }, async (t) => {
  const registry = await startRegistryStandIn(t, ['tiny-a', 'tiny-b']);
  const controller = await startTestController(t, { timing: { leaseTtlMs: 30_000, heartbeatIntervalMs: 1000 } });
  const shared = await controller.admin.createEnrollmentToken('shared-pool', 'shared');
  const worker = startTestWorker(t, { url: controller.url, enrollmentToken: shared.secret, sandbox: 'bwrap' });
  await waitForWorkerOnline(controller.admin, worker);
  const cacheDir = join(worker.workDir, 'cache');
  const other = await controller.admin.createOrg('org-b');
  const orgB = new BuildMeshClient({ url: controller.url, token: (await controller.admin.createToken({ name: 'b-admin', role: 'admin', orgId: other.id })).secret });

  const scripts = { 'eas-build-post-install': 'node probe.js' };
  const build = async (client: BuildMeshClient, files: Record<string, string>, expect: 'succeeded' | 'failed' = 'succeeded'): Promise<LogEntry[]> => {
    const dir = writeProject(t, { ...files, 'probe.js': PROBE });
    const created = await client.createBuild(
      { project: 'warm', platform: 'web', profile: { name: 'production', env: {} }, env: { PROBE_DIR: cacheDir } },
      await packProject(dir),
    );
    const done = await waitForStatus(client, created.id, ['succeeded', 'failed', 'canceled', 'timed_out'], 5 * 60_000);
    const log = await readAllLogs(client, created.id);
    assert.equal(done.status, expect, `${done.status} ${JSON.stringify(done.error)}\n${log.map((e) => `[${e.phase}] ${e.text}`).slice(-60).join('\n')}`);
    return log;
  };

  // 1. Cold: a miss, everything downloaded, then saved.
  const first = await build(controller.admin, registry.project(['tiny-a'], { scripts }));
  assert.ok(phaseLines(first, 'RESTORE_CACHE').some((l) => /^npm \(~\/\.npm\): cache miss for key/.test(l)), phaseLines(first, 'RESTORE_CACHE').join('\n'));
  assert.ok(phaseLines(first, 'SAVE_CACHE').some((l) => /^npm: saved ~\/\.npm \(.+\) under key/.test(l)), phaseLines(first, 'SAVE_CACHE').join('\n'));
  assert.deepEqual(Object.fromEntries(registry.fetches), { expo: 1, 'tiny-a': 1 });
  // The build's own sandbox never saw the cache directory.
  assert.ok(first.some((e) => e.text === 'probe: read refused ENOENT'), 'the cache dir is not visible inside the sandbox');

  // 2. Warm: a hit, and the install fetched nothing.
  const second = await build(controller.admin, registry.project(['tiny-a'], { scripts }));
  assert.ok(phaseLines(second, 'RESTORE_CACHE').some((l) => /^npm: cache hit for key .+ \(~\/\.npm: .+\)/.test(l)), phaseLines(second, 'RESTORE_CACHE').join('\n'));
  assert.deepEqual(Object.fromEntries(registry.fetches), { expo: 1, 'tiny-a': 1 }, 'the warm install downloaded nothing');
  // node_modules of this exact lockfile came back too, so the install itself is skipped, and says why.
  assert.ok(phaseLines(second, 'RESTORE_CACHE').some((l) => /^node_modules: cache hit for key node_modules\|web\|\|package-lock\.json:\w+\|package\.json:\w+\|node:/.test(l)));
  assert.ok(phaseLines(second, 'INSTALL_DEPENDENCIES').some((l) => /^Skipped: node_modules was restored from a successful build of this exact package-lock\.json and package\.json/.test(l)), phaseLines(second, 'INSTALL_DEPENDENCIES').join('\n'));
  assert.ok(second.some((e) => e.phase === 'EXPORT_WEB' && e.text === 'stub expo export into dist'), 'the restored node_modules works');

  // 3. A lockfile change misses the exact key; the closest older entry stands in, so only tiny-b is new.
  const third = await build(controller.admin, registry.project(['tiny-a', 'tiny-b'], { scripts }));
  assert.ok(phaseLines(third, 'RESTORE_CACHE').some((l) => /^npm: cache miss for key .+; restored the closest older entry/.test(l)), phaseLines(third, 'RESTORE_CACHE').join('\n'));
  assert.deepEqual(Object.fromEntries(registry.fetches), { expo: 1, 'tiny-a': 1, 'tiny-b': 1 });
  // node_modules is never taken from another lockfile: the install ran.
  assert.ok(phaseLines(third, 'RESTORE_CACHE').some((l) => /^node_modules \(node_modules\): cache miss for key/.test(l)));
  assert.ok(third.some((e) => e.phase === 'INSTALL_DEPENDENCIES' && /^\$ npm ci/.test(e.text)));

  const store = new CacheStore(cacheDir, 1e12);
  const before = await store.list();
  // npm (moved along from build to build), node_modules of the first lockfile and of the second.
  assert.deepEqual(before.map((e) => e.kind).sort(), ['node_modules', 'node_modules', 'npm'], JSON.stringify(before));
  const orgA = before[0]!.orgId;

  // 4. Org B, same worker, same project: nothing of A's cache is restored, all is downloaded again,
  //    and its steps can neither read nor write the cache directory.
  const fromB = await build(orgB, registry.project(['tiny-a', 'tiny-b'], { scripts }));
  const restoreB = phaseLines(fromB, 'RESTORE_CACHE');
  assert.ok(restoreB.some((l) => /^npm \(~\/\.npm\): cache miss for key/.test(l)), restoreB.join('\n'));
  assert.ok(!restoreB.some((l) => /hit|restored/.test(l)), restoreB.join('\n'));
  assert.deepEqual(Object.fromEntries(registry.fetches), { expo: 2, 'tiny-a': 2, 'tiny-b': 2 });
  assert.ok(fromB.some((e) => e.text === 'probe: read refused ENOENT'), fromB.filter((e) => e.text.startsWith('probe:')).map((e) => e.text).join('\n'));
  const after = await store.list();
  const aAfter = after.filter((e) => e.orgId === orgA);
  assert.deepEqual(aAfter.map(({ key, savedAt, sizeBytes }) => ({ key, savedAt, sizeBytes })), before.map(({ key, savedAt, sizeBytes }) => ({ key, savedAt, sizeBytes })));
  assert.deepEqual([...new Set(after.filter((e) => e.orgId !== orgA).map((e) => e.orgId))], [other.id]);
  assert.ok(!readdirSync(join(cacheDir, 'orgs')).includes('poison'));

  // 5. A failing build saves nothing (SAVE_CACHE is skipped).
  const failing = await build(controller.admin, registry.project(['tiny-a'], { scripts: { 'eas-build-post-install': 'exit 3' } }), 'failed');
  const saveMarkers = failing.filter((e) => e.phase === 'SAVE_CACHE' && e.marker === 'START_PHASE');
  assert.equal(saveMarkers.length, 0, 'SAVE_CACHE did not run');
  // It restored the npm store (its package.json differs, so no node_modules matched): the store left
  // with its workspace and nothing was saved; the node_modules entries it did not use stay.
  const left = await store.list(orgA);
  const modules = before.filter((e) => e.kind === 'node_modules').map((e) => e.key).sort();
  assert.deepEqual(left.map((e) => e.key).sort(), modules, JSON.stringify(left));
});
