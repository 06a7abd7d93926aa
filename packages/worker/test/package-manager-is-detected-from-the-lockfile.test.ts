// The package manager comes from the project's lockfile (yarn berry told apart from classic), and
// the install runs with the exact flags EAS uses, frozen unless the project predates SDK 53 / RN 0.79
// or has no lockfile. The planned INSTALL_DEPENDENCIES phase carries that command, the network and
// the 30-minute limit, and the pre-install hook runs only when package.json defines it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { planPipeline } from '../src/pipelines/index.js';
import { detectInstallPackageManager, detectPackageManager, installCommand, resolveInstallDir, shouldUseFrozenLockfile, type PackageJson } from '../src/pipelines/package-manager.js';
import { makeJob, makeTempDir } from './support/simple-phase-runner.js';

type T = { after(fn: () => void): void };

function project(t: T, files: Record<string, string>): string {
  const dir = makeTempDir(t);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

const detect = (t: T, files: Record<string, string>, pkg: PackageJson | null = null) => detectPackageManager(project(t, files), pkg);

void test('each lockfile selects its package manager and EAS install command', (t) => {
  const cases: Array<[Record<string, string>, PackageJson | null, string, string[], string[]]> = [
    [{ 'package-lock.json': '{}' }, null, 'npm', ['npm', 'ci', '--include=dev'], ['npm', 'install', '--include=dev']],
    [{ 'pnpm-lock.yaml': "lockfileVersion: '9.0'\n" }, null, 'pnpm', ['pnpm', 'install', '--frozen-lockfile'], ['pnpm', 'install', '--no-frozen-lockfile']],
    [{ 'bun.lockb': 'binary' }, null, 'bun', ['bun', 'install', '--frozen-lockfile'], ['bun', 'install']],
    [{ 'bun.lock': '{}' }, null, 'bun', ['bun', 'install', '--frozen-lockfile'], ['bun', 'install']],
    [{ 'yarn.lock': '# yarn lockfile v1\n\nleft-pad@^1.3.0:\n  version "1.3.0"\n' }, null, 'yarn classic',
      ['yarn', 'install', '--frozen-lockfile', '--production', 'false'], ['yarn', 'install', '--production', 'false']],
    [{ 'yarn.lock': '__metadata:\n  version: 8\n  cacheKey: 10c0\n' }, null, 'yarn berry',
      ['yarn', 'install', '--inline-builds', '--immutable'], ['yarn', 'install', '--inline-builds', '--no-immutable']],
    [{ 'yarn.lock': '# yarn lockfile v1\n', '.yarnrc.yml': 'nodeLinker: node-modules\n' }, null, 'yarn berry',
      ['yarn', 'install', '--inline-builds', '--immutable'], ['yarn', 'install', '--inline-builds', '--no-immutable']],
    [{ 'yarn.lock': '# yarn lockfile v1\n' }, { packageManager: 'yarn@4.5.0' }, 'yarn berry',
      ['yarn', 'install', '--inline-builds', '--immutable'], ['yarn', 'install', '--inline-builds', '--no-immutable']],
    // An explicit yarn@1 wins over a stray .yarnrc.yml.
    [{ 'yarn.lock': '# yarn lockfile v1\n', '.yarnrc.yml': '' }, { packageManager: 'yarn@1.22.22' }, 'yarn classic',
      ['yarn', 'install', '--frozen-lockfile', '--production', 'false'], ['yarn', 'install', '--production', 'false']],
  ];
  for (const [files, pkg, expected, frozen, unfrozen] of cases) {
    const pm = detect(t, files, pkg);
    const label = `${Object.keys(files).join('+')} ${JSON.stringify(pkg)}`;
    assert.equal(`${pm.name}${pm.yarnFlavor ? ` ${pm.yarnFlavor}` : ''}`, expected, label);
    assert.equal(pm.lockfile, Object.keys(files).find((f) => f !== '.yarnrc.yml'), label);
    assert.deepEqual(pm.warnings, [], label);
    assert.deepEqual(installCommand(pm, true), frozen, label);
    assert.deepEqual(installCommand(pm, false), unfrozen, label);
  }
});

void test('no lockfile: yarn (as on EAS) or the packageManager field, not frozen, with a warning; several lockfiles: the first in resolution order, with a warning', (t) => {
  const none = detect(t, {});
  assert.equal(none.name, 'yarn');
  assert.equal(none.yarnFlavor, 'classic');
  assert.equal(none.lockfile, null);
  assert.match(none.warnings.join('\n'), /No lockfile/);
  assert.equal(shouldUseFrozenLockfile(none, null, {}), false);
  assert.equal(detect(t, {}, { packageManager: 'pnpm@9.15.0' }).name, 'pnpm');
  assert.equal(detect(t, {}, { packageManager: 'yarn@4.5.0' }).yarnFlavor, 'berry');

  const several = detect(t, { 'package-lock.json': '{}', 'yarn.lock': '# yarn lockfile v1\n' });
  assert.equal(several.name, 'yarn');
  assert.match(several.warnings.join('\n'), /using yarn \(yarn\.lock\)\. Remove the lockfiles of npm/);
});

void test('frozen lockfile unless EAS_NO_FROZEN_LOCKFILE, Expo SDK < 53 or React Native < 0.79', (t) => {
  const npm = detect(t, { 'package-lock.json': '{}' });
  const deps = (expo: string, rn: string): PackageJson => ({ dependencies: { expo, 'react-native': rn } });
  assert.equal(shouldUseFrozenLockfile(npm, deps('~57.0.26', '0.86.3'), {}), true);
  assert.equal(shouldUseFrozenLockfile(npm, deps('^53.0.0', '0.79.2'), {}), true);
  assert.equal(shouldUseFrozenLockfile(npm, deps('~52.0.40', '0.76.9'), {}), false);
  assert.equal(shouldUseFrozenLockfile(npm, deps('~57.0.0', '0.78.0'), {}), false);
  assert.equal(shouldUseFrozenLockfile(npm, { devDependencies: { expo: '51.0.0' } }, {}), false);
  assert.equal(shouldUseFrozenLockfile(npm, {}, {}), true, 'unknown versions: try frozen, as EAS does');
  assert.equal(shouldUseFrozenLockfile(npm, deps('~57.0.26', '0.86.3'), { EAS_NO_FROZEN_LOCKFILE: '1' }), false);
});

void test('the planned install phase runs that command with the network, stopped after 30 minutes without output; hooks only when defined, pre-install with npm', async (t) => {
  const projectDir = project(t, {
    'package.json': JSON.stringify({ name: 'p', dependencies: { expo: '~57.0.26' }, scripts: { 'eas-build-pre-install': 'echo pre' } }),
    'yarn.lock': '__metadata:\n  version: 8\n',
  });
  const job = makeJob('web', {});
  const plan = await planPipeline({ job, projectDir, workspaceRoot: projectDir, credentials: null, secrets: {} });
  assert.deepEqual(plan.phases.slice(0, 4).map((p) => p.name), ['PRE_INSTALL_HOOK', 'READ_EAS_JSON', 'READ_PACKAGE_JSON', 'INSTALL_DEPENDENCIES']);
  const [hook, , , install] = plan.phases;
  // As on EAS: the pre-install hook runs with npm even in a yarn project (yarn may not be set up before it).
  assert.deepEqual(hook!.steps, [{ kind: 'command', command: { argv: ['npm', 'run', 'eas-build-pre-install'] } }]);
  assert.deepEqual(install!.steps, [{ kind: 'command', command: { argv: ['yarn', 'install', '--inline-builds', '--immutable'] } }]);
  assert.equal(install!.network, true);
  // As on EAS: no wall-clock limit, but stopped after 30 minutes without output.
  assert.equal(install!.timeoutMs, undefined);
  assert.deepEqual(install!.idleTimeout, { warnAfterMs: 15 * 60 * 1000, killAfterMs: 30 * 60 * 1000 });
  assert.ok(!plan.phases.some((p) => p.name === 'POST_INSTALL_HOOK' || p.name.startsWith('ON_BUILD_')), 'hooks absent from package.json are not planned');
  // The install failure patterns know each package manager's lockfile messages.
  const classify = (text: string) => install!.classify?.find((p) => p.pattern.test(text))?.code;
  assert.equal(classify('npm error `npm ci` can only install packages when your package.json and package-lock.json or npm-shrinkwrap.json are in sync.'), 'LOCKFILE_OUT_OF_SYNC');
  assert.equal(classify('error Your lockfile needs to be updated, but yarn was run with `--frozen-lockfile`.'), 'LOCKFILE_OUT_OF_SYNC');
  assert.equal(classify('➤ YN0028: │ The lockfile would have been modified by this install, which is explicitly forbidden.'), 'LOCKFILE_OUT_OF_SYNC');
  assert.equal(classify(' ERR_PNPM_OUTDATED_LOCKFILE  Cannot install with "frozen-lockfile" because pnpm-lock.yaml is not up to date'), 'LOCKFILE_OUT_OF_SYNC');
  assert.equal(classify('npm error The `npm ci` command can only install with an existing package-lock.json or npm-shrinkwrap.json'), 'LOCKFILE_MISSING');
  assert.equal(classify(' ERR_PNPM_NO_LOCKFILE  Cannot install with "frozen-lockfile" because pnpm-lock.yaml is absent'), 'LOCKFILE_MISSING');
  assert.equal(classify('bash: line 1: yarn: command not found'), 'TOOLCHAIN_MISSING');
  assert.equal(classify('Error: spawn pnpm ENOENT'), 'TOOLCHAIN_MISSING');
  assert.equal(classify('npm error code ETARGET\nnpm error notarget No matching version found for left-pad@99.'), 'INSTALL_FAILED');
});

void test('a monorepo app installs at its workspace root, with that root package manager; a plain app where it is', (t) => {
  const root = project(t, {
    'package.json': JSON.stringify({ name: 'root', private: true }),
    'pnpm-workspace.yaml': "packages:\n  - 'apps/*'\n",
    'apps/mobile/package.json': '{"name":"mobile"}',
    'apps/own/package.json': '{"name":"own"}',
    'apps/own/yarn.lock': '',
    'tools/nested/app/package.json': '{"name":"nested"}',
    'tools/package-lock.json': '{}',
  });
  const mobile = join(root, 'apps/mobile');
  // No lockfile yet at the root: pnpm-workspace.yaml makes it the workspace root, and pnpm.
  assert.equal(resolveInstallDir(root, mobile), root);
  assert.equal(detectInstallPackageManager(root, mobile, null).name, 'pnpm');
  writeFileSync(join(root, 'pnpm-lock.yaml'), "lockfileVersion: '9.0'\n");
  assert.deepEqual(detectInstallPackageManager(root, mobile, null), { name: 'pnpm', lockfile: 'pnpm-lock.yaml', warnings: [] });
  // An app with its own lockfile installs in its own folder; the nearest folder with a lockfile wins.
  assert.equal(resolveInstallDir(root, join(root, 'apps/own')), join(root, 'apps/own'));
  assert.equal(resolveInstallDir(root, join(root, 'tools/nested/app')), join(root, 'tools'));
  // Never above the source root, and a plain project is its own install folder.
  assert.equal(resolveInstallDir(mobile, mobile), mobile);
  const plain = project(t, { 'package.json': '{}' });
  assert.equal(resolveInstallDir(plain, plain), plain);
});
