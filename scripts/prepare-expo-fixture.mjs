#!/usr/bin/env node
// Test setup: a real Expo SDK 57 blank app, installed from the npm registry, for the end-to-end
// web build test. It lands in the gitignored `.cache/expo-blank-57/` with a real package-lock.json
// (so the build's `npm ci` is exercised for real) and the web dependencies a user adds with
// `npx expo install react-dom react-native-web`. A complete copy is reused: a marker file is
// written last, and the whole tree is built beside the target and renamed into place, so an
// interrupted run never leaves a half-installed app that looks complete.
//
//   node scripts/prepare-expo-fixture.mjs            prepare (or reuse) .cache/expo-blank-57
//   node scripts/prepare-expo-fixture.mjs --force    rebuild it
//
// Prints the time each step took. Needs the npm registry (nothing else).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { extract } from 'tar';

const SDK = 57;
const NAME = `expo-blank-${SDK}`;
const root = new URL('..', import.meta.url).pathname;
const cacheDir = join(root, '.cache');
const target = join(cacheDir, NAME);
const partial = `${target}.partial`;
const MARKER = '.buildmesh-fixture.json';
// Every version is resolved as the registry stood at this date (npm's `before`): the app is the same
// on every machine, and a registry cache a little behind (a CI proxy's) still has every version the
// lockfile names. A version published the day before a run once broke the build's `npm ci` in CI.
const BEFORE = '2026-11-15T00:00:00.000Z';

const force = process.argv.includes('--force');
const started = Date.now();
const timings = {};

function step(name, fn) {
  const t0 = Date.now();
  const result = fn();
  timings[name] = (Date.now() - t0) / 1000;
  console.log(`  ${name}: ${timings[name].toFixed(1)} s`);
  return result;
}

function run(cwd, argv) {
  const result = spawnSync(argv[0], argv.slice(1), {
    cwd,
    encoding: 'utf8',
    // CI=1: expo and npm stay non-interactive; no telemetry from a test setup.
    env: { ...process.env, CI: '1', EXPO_NO_TELEMETRY: '1', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_before: BEFORE },
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) {
    process.stdout.write(result.stdout ?? '');
    throw new Error(`${argv.join(' ')} failed in ${cwd} (exit ${result.status ?? result.signal})`);
  }
  return result.stdout;
}

function isComplete(dir) {
  const marker = join(dir, MARKER);
  if (!existsSync(marker)) return false;
  if (JSON.parse(readFileSync(marker, 'utf8')).before !== BEFORE) return false;
  return ['package.json', 'package-lock.json', 'node_modules/expo/package.json', 'node_modules/react-native-web/package.json']
    .every((p) => existsSync(join(dir, p)));
}

if (!force && isComplete(target)) {
  const info = JSON.parse(readFileSync(join(target, MARKER), 'utf8'));
  console.log(`${target} is present and complete (template ${info.template}, expo ${info.expo}); nothing to do.`);
  process.exit(0);
}

console.log(`preparing ${target}`);
mkdirSync(cacheDir, { recursive: true });
rmSync(partial, { recursive: true, force: true });
mkdirSync(partial, { recursive: true });

try {
  const tarball = step('npm pack expo-template-blank', () => {
    const out = run(partial, ['npm', 'pack', `expo-template-blank@${SDK}`, '--silent']);
    const file = out.trim().split('\n').pop();
    if (!file || !existsSync(join(partial, file))) throw new Error(`npm pack printed no tarball name: ${out}`);
    return join(partial, file);
  });

  step('extract template', () => {
    extract({ file: tarball, cwd: partial, strip: 1, sync: true });
    rmSync(tarball);
    // npm drops .gitignore from packages; templates ship it as `gitignore`, and create-expo renames it.
    if (existsSync(join(partial, 'gitignore'))) renameSync(join(partial, 'gitignore'), join(partial, '.gitignore'));
  });

  const template = step('name the app', () => {
    const pkgPath = join(partial, 'package.json');
    const pkg = JSON.parse(readFileSync(pkgPath, 'utf8'));
    const templateVersion = pkg.version;
    pkg.name = NAME;
    pkg.version = '1.0.0';
    pkg.private = true;
    writeFileSync(pkgPath, `${JSON.stringify(pkg, null, 2)}\n`);
    const appPath = join(partial, 'app.json');
    const app = JSON.parse(readFileSync(appPath, 'utf8'));
    app.expo = { ...app.expo, name: NAME, slug: NAME };
    writeFileSync(appPath, `${JSON.stringify(app, null, 2)}\n`);
    // What `eas build:configure` writes: the profiles the mesh builds from.
    const easJson = {
      cli: { version: '>= 16.0.0', appVersionSource: 'remote' },
      build: {
        development: { developmentClient: true, distribution: 'internal' },
        preview: { distribution: 'internal' },
        production: { autoIncrement: true },
      },
    };
    writeFileSync(join(partial, 'eas.json'), `${JSON.stringify(easJson, null, 2)}\n`);
    return templateVersion;
  });

  step('npm install (creates package-lock.json)', () => run(partial, ['npm', 'install']));
  // The blank template has no web dependencies; `expo install` picks the versions this SDK pins.
  step('npx expo install react-dom react-native-web', () =>
    run(partial, ['npx', 'expo', 'install', 'react-dom', 'react-native-web']));

  const expoVersion = JSON.parse(readFileSync(join(partial, 'node_modules/expo/package.json'), 'utf8')).version;
  writeFileSync(join(partial, MARKER), `${JSON.stringify({ template, expo: expoVersion, before: BEFORE, timings, preparedAt: new Date().toISOString() }, null, 2)}\n`);
  if (!isComplete(partial)) throw new Error(`the prepared app is incomplete: ${readdirSync(partial).join(', ')}`);

  rmSync(target, { recursive: true, force: true });
  renameSync(partial, target);
  console.log(`ready: ${target} (template ${template}, expo ${expoVersion}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} catch (err) {
  rmSync(partial, { recursive: true, force: true });
  console.error(`prepare-expo-fixture: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
