#!/usr/bin/env node
// Runs every *.test.ts through node's own test runner. Node 20 expands no globs
// and silently finds no .ts files in a bare folder, so the list is built here and
// passed explicitly. Extra arguments narrow the run to files whose path contains them.
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const roots = ['test', ...readdirSync(join(root, 'packages')).map((p) => join('packages', p, 'test'))];

function walk(dir, out) {
  let entries;
  try { entries = readdirSync(join(root, dir)); } catch { return out; }
  for (const name of entries) {
    if (name === 'node_modules' || name === 'fixtures') continue;
    const rel = join(dir, name);
    if (statSync(join(root, rel)).isDirectory()) walk(rel, out);
    else if (name.endsWith('.test.ts')) out.push(rel);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = roots.flatMap((d) => walk(d, [])).sort()
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files found' + (filters.length ? ` matching ${filters.join(', ')}` : ''));
  process.exit(1);
}
// Tests run the real `buildmesh` binary, which runs the bundle as it is: make it current first.
const built = spawnSync(process.execPath, [join(root, 'scripts', 'build-cli.mjs'), '--if-stale'], { stdio: 'inherit' });
if (built.status !== 0) process.exit(built.status ?? 1);
// …and the dashboard the controller serves (browser tests load it).
const dashboard = spawnSync(process.execPath, [join(root, 'scripts', 'build-dashboard.mjs'), '--if-stale'], { stdio: 'inherit' });
if (dashboard.status !== 0) process.exit(dashboard.status ?? 1);
console.log(`running ${files.length} test files`);
const concurrency = process.env.BUILDMESH_TEST_CONCURRENCY ?? '3';
// Tests that skip for a missing system package record it here (test/helpers/bwrap.ts); summed up below.
const skipDir = mkdtempSync(join(tmpdir(), 'buildmesh-test-skips-'));
const skipLog = join(skipDir, 'skips');
const result = spawnSync(process.execPath, [
  '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files.map((f) => relative(process.cwd(), join(root, f))),
], { stdio: 'inherit', cwd: root, env: { ...process.env, BUILDMESH_TEST_SKIP_LOG: skipLog } });
let skipped = [];
try { skipped = readFileSync(skipLog, 'utf8').split('\n').filter(Boolean); } catch { /* nothing skipped */ }
rmSync(skipDir, { recursive: true, force: true });
const bwrapSkips = skipped.filter((what) => what === 'bubblewrap').length;
if (bwrapSkips > 0) {
  console.log(`\n⚠ ${bwrapSkips} sandbox test${bwrapSkips === 1 ? ' was' : 's were'} skipped: bubblewrap is missing or unusable here. Install it (Debian/Ubuntu: apt-get install bubblewrap) to run them; CI never skips them.`);
}
process.exit(result.status ?? 1);
