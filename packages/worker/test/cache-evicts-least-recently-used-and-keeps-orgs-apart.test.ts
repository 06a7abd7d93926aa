/**
 * The worker's cache store on a real directory: eviction at the size limit removes the least
 * recently used entries and keeps the most recent; one org's keys never reach another org's
 * entries; a restore takes the entry out (a failed build cannot give it back); and neither a
 * restore nor a save goes through a symlink the build could have planted.
 */
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { safePath } from '../src/cache/phases.js';
import { CacheStore } from '../src/cache/store.js';

function tempDir(t: TestContext, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `buildmesh-cache-${name}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A workspace directory holding `bytes` bytes in one file, as a build would leave its npm cache. */
function filled(t: TestContext, bytes: number, marker: string): string {
  const dir = join(tempDir(t, 'ws'), '.npm');
  mkdirSync(dir);
  writeFileSync(join(dir, 'blob'), Buffer.alloc(bytes, 1));
  writeFileSync(join(dir, 'marker'), marker);
  return dir;
}

const entry = (key: string) => ({ kind: 'npm', key: `npm|web||${key}`, prefix: 'npm|web|' });

test('eviction at the size limit keeps the most recently used entries', async (t) => {
  const store = new CacheStore(tempDir(t, 'store'), 250_000);
  await store.init();
  for (const key of ['k1', 'k2', 'k3']) {
    await store.save('org_a', entry(key), [{ label: '~/.npm', dir: filled(t, 100_000, key) }]);
    await new Promise((r) => setTimeout(r, 5)); // distinct usedAt
  }
  // 3 × ~100 kB > 250 kB: the oldest (k1) went when k3 was saved.
  assert.deepEqual((await store.list()).map((e) => e.key).sort(), ['npm|web||k2', 'npm|web||k3']);

  // Using k2 (restore, then the build saves it again) makes it the most recent: k3 goes next.
  const target = join(tempDir(t, 'restore'), '.npm');
  const hit = await store.checkout('org_a', 'npm|web||k2', 'npm|web|', () => target);
  assert.equal(hit?.exact, true);
  assert.equal(readFileSync(join(target, 'marker'), 'utf8'), 'k2');
  await store.save('org_a', entry('k2'), [{ label: '~/.npm', dir: target }]);
  await new Promise((r) => setTimeout(r, 5));
  await store.save('org_a', entry('k4'), [{ label: '~/.npm', dir: filled(t, 100_000, 'k4') }]);
  assert.deepEqual((await store.list()).map((e) => e.key).sort(), ['npm|web||k2', 'npm|web||k4']);
  const total = (await store.list()).reduce((s, e) => s + e.sizeBytes, 0);
  assert.ok(total <= 250_000, `total ${total}`);
});

test("one org's key never reaches another org's entry; a restore takes the entry out", async (t) => {
  const store = new CacheStore(tempDir(t, 'store'), 1e9);
  await store.init();
  await store.save('org_a', entry('same'), [{ label: '~/.npm', dir: filled(t, 10, 'a') }]);

  // Org B asks for the very same key (same project, same lockfile): a miss, and A's entry stays.
  const targetB = join(tempDir(t, 'b'), '.npm');
  assert.equal(await store.checkout('org_b', 'npm|web||same', 'npm|web|', () => targetB), undefined);
  assert.equal(existsSync(targetB), false);
  assert.equal((await store.list('org_a')).length, 1);
  assert.equal((await store.list('org_b')).length, 0);

  // A restore moves the entry out of the cache: a second concurrent attempt misses, and if the
  // build fails (nothing saved) the entry is gone with its workspace.
  const targetA = join(tempDir(t, 'a'), '.npm');
  assert.equal((await store.checkout('org_a', 'npm|web||same', 'npm|web|', () => targetA))?.exact, true);
  assert.equal(readFileSync(join(targetA, 'marker'), 'utf8'), 'a');
  assert.equal(await store.checkout('org_a', 'npm|web||same', 'npm|web|', () => join(tempDir(t, 'a2'), '.npm')), undefined);
  assert.equal((await store.list('org_a')).length, 0);
});

test('a lockfile change misses the exact key and restores the closest older entry of the same prefix', async (t) => {
  const store = new CacheStore(tempDir(t, 'store'), 1e9);
  await store.init();
  await store.save('org_a', entry('old'), [{ label: '~/.npm', dir: filled(t, 10, 'old') }]);
  const target = join(tempDir(t, 'r'), '.npm');
  const hit = await store.checkout('org_a', 'npm|web||new', 'npm|web|', () => target);
  assert.equal(hit?.exact, false);
  assert.equal(hit?.meta.key, 'npm|web||old');
  // Another kind or platform (another prefix) never stands in.
  await store.save('org_a', entry('old'), [{ label: '~/.npm', dir: target }]);
  assert.equal(await store.checkout('org_a', 'gradle|android||new', 'gradle|android|', () => join(tempDir(t, 'g'), 'x')), undefined);
});

test('restore and save never pass through a symlink the build planted', async (t) => {
  const ws = tempDir(t, 'ws');
  const outside = tempDir(t, 'outside');
  const roots = { projectDir: join(ws, 'project'), homeDir: join(ws, 'home') };
  mkdirSync(roots.projectDir);
  mkdirSync(roots.homeDir);
  writeFileSync(join(outside, 'secret'), 'host file');
  symlinkSync(outside, join(roots.homeDir, '.gradle'));
  symlinkSync(outside, join(roots.projectDir, 'cachedir'));

  // Through a planted parent link, or the link itself: refused, and nothing is created outside.
  assert.equal(await safePath(roots, '~/.gradle/caches', true), undefined);
  assert.equal(await safePath(roots, 'cachedir', false), undefined);
  assert.equal(await safePath(roots, '../escape', true), undefined);
  assert.equal(await safePath(roots, '~/../../etc', true), undefined);
  assert.equal(existsSync(join(outside, 'caches')), false);
  // A home directory swapped for a link is refused as a whole.
  const swapped = { projectDir: roots.projectDir, homeDir: join(ws, 'home-link') };
  symlinkSync(outside, swapped.homeDir);
  assert.equal(await safePath(swapped, '~/secret-dir', false), undefined);
  assert.equal(await safePath(swapped, '~/.npm', true), undefined);
  // A plain path is fine, its parents made on the way.
  const plain = await safePath(roots, '~/.cache/yarn', true);
  assert.equal(plain, join(roots.homeDir, '.cache', 'yarn'));
  assert.ok(lstatSync(join(roots.homeDir, '.cache')).isDirectory());

  // A saved entry whose content holds a link keeps it as a link (never followed, not counted).
  const store = new CacheStore(tempDir(t, 'store'), 1e9);
  await store.init();
  const dir = filled(t, 10, 'x');
  symlinkSync('/etc', join(dir, 'etc-link'));
  const meta = await store.save('org_a', entry('links'), [{ label: '~/.npm', dir }]);
  // du -sb: the files' 11 bytes, the directory entries and the link itself, never what it points to.
  assert.ok(meta && meta.sizeBytes >= 11 && meta.sizeBytes < 64 * 1024, `size ${meta?.sizeBytes}`);
  const target = join(tempDir(t, 'r'), '.npm');
  await store.checkout('org_a', 'npm|web||links', 'npm|web|', () => target);
  assert.ok(lstatSync(join(target, 'etc-link')).isSymbolicLink());
});
