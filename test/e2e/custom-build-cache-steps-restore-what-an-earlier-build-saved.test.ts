/**
 * eas/save_cache and eas/restore_cache in custom builds, through a real controller and worker: the
 * first build misses and saves a directory under its key; the second asks for another key and gets
 * the first build's entry through `restore_keys`, and its step reads the file back; a third with a
 * key no entry starts with misses.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { LogEntry } from '@buildmesh/protocol';
import { readAllLogs, submitBuild, waitForStatus } from '../helpers/builds.js';
import { startTestController } from '../helpers/controller.js';
import { startTestWorker, waitForWorkerOnline } from '../helpers/worker.js';

function project(t: TestContext, key: string, restoreKeys: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'buildmesh-custom-cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = {
    build: {
      name: 'cache',
      steps: [
        { 'eas/restore_cache': { inputs: { key, restore_keys: restoreKeys, path: '.mycache' } } },
        { run: { name: 'use the cache', command: 'cat .mycache/stamp 2>/dev/null || echo "no stamp"; mkdir -p .mycache; echo "saved by ' + key + '" > .mycache/stamp' } },
        { 'eas/save_cache': { inputs: { key, path: '.mycache' } } },
      ],
    },
  };
  const files: Record<string, string> = {
    'package.json': JSON.stringify({ name: 'fixture', version: '1.0.0', private: true }),
    '.eas/build/ci.yml': JSON.stringify(config, null, 2),
  };
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

const texts = (log: LogEntry[]): string[] => log.filter((e) => !e.marker).map((e) => e.text);

test('custom builds: eas/save_cache saves, eas/restore_cache restores by key or restore_keys prefix', { timeout: 5 * 60_000 }, async (t) => {
  const controller = await startTestController(t, { timing: { leaseTtlMs: 30_000, heartbeatIntervalMs: 1000 } });
  const worker = startTestWorker(t, { url: controller.url, enrollmentToken: await controller.enrollmentToken() });
  await waitForWorkerOnline(controller.admin, worker);
  const run = async (key: string, restoreKeys: string): Promise<string[]> => {
    const build = await submitBuild(controller.admin, project(t, key, restoreKeys));
    const done = await waitForStatus(controller.admin, build.id, ['succeeded', 'failed', 'canceled', 'timed_out'], 120_000);
    const log = await readAllLogs(controller.admin, build.id);
    assert.equal(done.status, 'succeeded', `${JSON.stringify(done.error)}\n${texts(log).slice(-30).join('\n')}`);
    return texts(log);
  };

  const first = await run('deps-v1-aaa', 'deps-v1-');
  assert.ok(first.includes('Cache miss for key deps-v1-aaa and restore keys deps-v1-.'), first.join('\n'));
  assert.ok(first.includes('no stamp'));
  assert.ok(first.some((l) => /^Saved \.mycache \(.+\) under key deps-v1-aaa\.$/.test(l)), first.join('\n'));

  const second = await run('deps-v1-bbb', 'deps-v1-');
  assert.ok(second.some((l) => /^Cache miss for key deps-v1-bbb; restored deps-v1-aaa \(\.mycache: .+\)\.$/.test(l)), second.join('\n'));
  assert.ok(second.includes('saved by deps-v1-aaa'), 'the step read what the first build saved');

  const third = await run('deps-v2-ccc', 'deps-v2-');
  assert.ok(third.includes('Cache miss for key deps-v2-ccc and restore keys deps-v2-.'), third.join('\n'));
  assert.ok(third.includes('no stamp'));
});
