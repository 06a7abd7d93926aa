// Monorepos build as on EAS, through the real CLI, controller and worker: `buildmesh build
// apps/mobile` in an npm-workspace (and a pnpm-workspace) repository uploads the repository root
// with a shallow .git, the worker installs at the workspace root with the ROOT lockfile (frozen),
// then runs the hooks and `expo export` in apps/mobile, where the stand-in `expo` (a sibling
// workspace package) reads another sibling package, sees EAS_BUILD_WORKINGDIR at the root and runs
// `git rev-parse HEAD`. pnpm comes from the profile (`pnpm` in eas.json, installed by the worker
// from the npm registry): that case skips, visibly, when the registry is unreachable, except under CI.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { recordSkip } from '../../../test/helpers/bwrap.js';
import { runCli } from './helpers/cli.js';
import { startMesh } from './helpers/mesh.js';
import { git, makeTempDir, writeTree } from './support/project-fixtures.js';

const PNPM = '9.15.0';

/** The stand-in `expo` CLI: `expo export --platform web --output-dir <dir>` writes an index.html. */
const EXPO_CLI = `#!/usr/bin/env node
const { mkdirSync, writeFileSync } = require('node:fs');
const { join, relative } = require('node:path');
const { execFileSync } = require('node:child_process');
const args = process.argv.slice(2);
const out = args[args.indexOf('--output-dir') + 1] || 'dist';
const shared = require('shared');
const head = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
console.log('expo stand-in: app dir ' + relative(process.env.EAS_BUILD_WORKINGDIR, process.cwd()));
console.log('expo stand-in: git HEAD ' + head);
mkdirSync(join(process.cwd(), out), { recursive: true });
writeFileSync(join(process.cwd(), out, 'index.html'), '<h1>' + shared + '</h1>\\n');
`;

function writeMonorepo(repo: string, kind: 'npm' | 'pnpm'): void {
  const dep = kind === 'pnpm' ? 'workspace:*' : '*';
  writeTree(repo, {
    '.gitignore': 'node_modules/\ndist/\nbuild/\nbuild-artifacts/\n',
    'package.json': JSON.stringify({ name: 'mono', version: '1.0.0', private: true, ...(kind === 'npm' ? { workspaces: ['apps/*', 'packages/*'] } : {}) }, null, 2),
    ...(kind === 'pnpm' ? { 'pnpm-workspace.yaml': "packages:\n  - 'apps/*'\n  - 'packages/*'\n" } : {}),
    'packages/expo/package.json': JSON.stringify({ name: 'expo', version: '53.0.0', bin: { expo: 'cli.js' } }, null, 2),
    'packages/expo/cli.js': EXPO_CLI,
    'packages/shared/package.json': JSON.stringify({ name: 'shared', version: '1.0.0', main: 'index.js' }, null, 2),
    'packages/shared/index.js': "module.exports = 'rendered with the sibling package shared';\n",
    'apps/mobile/package.json': JSON.stringify({
      name: 'mobile',
      version: '1.0.0',
      private: true,
      dependencies: { expo: dep, shared: dep },
      scripts: { 'eas-build-post-install': "node -e \"console.log('post-install hook in ' + require('path').relative(process.env.EAS_BUILD_WORKINGDIR, process.cwd()))\"" },
    }, null, 2),
    'apps/mobile/app.json': JSON.stringify({ expo: { name: 'mobile', slug: 'mobile', platforms: ['web'] } }),
    'apps/mobile/eas.json': JSON.stringify({ build: { production: kind === 'pnpm' ? { pnpm: PNPM } : {} } }),
  });
  execFileSync('chmod', ['+x', join(repo, 'packages/expo/cli.js')]);
  // The ROOT lockfile, made the package manager's own way (workspace packages only: nothing is downloaded).
  if (kind === 'npm') execFileSync('npm', ['install', '--package-lock-only', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: repo, stdio: 'pipe' });
  else execFileSync('npx', ['--yes', `pnpm@${PNPM}`, 'install', '--lockfile-only', '--ignore-scripts'], { cwd: repo, stdio: 'pipe', timeout: 180_000 });
  git(repo, 'init', '-q');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'monorepo');
}

async function buildMonorepo(t: TestContext, kind: 'npm' | 'pnpm'): Promise<void> {
  const repo = realpathSync(makeTempDir(t));
  writeMonorepo(repo, kind);
  const lockfile = kind === 'npm' ? 'package-lock.json' : 'pnpm-lock.yaml';
  assert.ok(readdirSync(repo).includes(lockfile) && !readdirSync(join(repo, 'apps/mobile')).includes(lockfile), 'premise: the only lockfile is at the root');
  const head = git(repo, 'rev-parse', 'HEAD').trim();

  const mesh = await startMesh(t, { worker: true });
  const output = join(mesh.root, 'out');
  mkdirSync(output);
  const run = await runCli(['build', join(repo, 'apps/mobile'), '--platform', 'web', '--profile', 'production', '--output', output], {
    env: mesh.env,
    timeoutMs: 8 * 60_000,
  });
  const all = `${run.stdout}\n${run.stderr}`;
  assert.equal(run.code, 0, all);
  assert.match(all, /Monorepo: packing the repository root .*; the app is apps\/mobile/);
  assert.doesNotMatch(all, /no shallow .git/);
  // Installed at the workspace root with the root lockfile, frozen.
  assert.match(all, new RegExp(`Using ${kind}, from ${lockfile.replace('.', '\\.')}, with a frozen lockfile, installing at the workspace root \\(\\.\\./\\.\\. from the app\\)`));
  assert.match(all, kind === 'npm' ? /\$ npm ci --include=dev/ : /\$ pnpm install --frozen-lockfile/);
  // Every later command in the app's folder; EAS_BUILD_WORKINGDIR is the root; the shallow .git is there.
  assert.match(all, /post-install hook in apps\/mobile/);
  assert.match(all, /expo stand-in: app dir apps\/mobile/);
  assert.ok(all.includes(`expo stand-in: git HEAD ${head}`), all);

  // The artifact (web-<id>.tar.gz, resolved in the app's folder) holds what the sibling package rendered.
  const [archive] = readdirSync(output).filter((f) => f.endsWith('.tar.gz'));
  assert.ok(archive, `an artifact was downloaded: ${readdirSync(output).join(', ')}`);
  const html = execFileSync('tar', ['-xzOf', join(output, archive), 'index.html'], { encoding: 'utf8' });
  assert.match(html, /rendered with the sibling package shared/);
}

void test('an npm-workspace monorepo builds apps/mobile with the root package-lock.json', { timeout: 10 * 60_000 }, async (t) => {
  await buildMonorepo(t, 'npm');
});

async function registryReachable(): Promise<boolean> {
  try {
    return (await fetch(`https://registry.npmjs.org/pnpm/${PNPM}`, { signal: AbortSignal.timeout(10_000) })).ok;
  } catch {
    return false;
  }
}
const reachable = await registryReachable();
function skipPnpm(): string | false {
  if (reachable || process.env.CI) return false;
  recordSkip('npm registry (pnpm)');
  return `pnpm ${PNPM} comes from the npm registry (registry.npmjs.org), unreachable from here`;
}

void test('a pnpm-workspace monorepo builds apps/mobile with the root pnpm-lock.yaml', { skip: skipPnpm(), timeout: 10 * 60_000 }, async (t) => {
  await buildMonorepo(t, 'pnpm');
});
