import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectCapabilities, detectToolchains, labelsFor, platformsFor } from '../src/capabilities.js';
import { tempDir } from './support/runner-fixtures.js';

/** A fake executable printing `output` (detection runs real processes found on PATH). */
function tool(binDir: string, name: string, output: string, toStderr = false): void {
  const file = join(binDir, name);
  writeFileSync(file, `#!/bin/sh\necho '${output}'${toStderr ? ' >&2' : ''}\n`);
  chmodSync(file, 0o755);
}

function fakeSdk(root: string): string {
  const sdk = join(root, 'sdk');
  mkdirSync(join(sdk, 'platform-tools'), { recursive: true });
  mkdirSync(join(sdk, 'build-tools', '34.0.0'), { recursive: true });
  mkdirSync(join(sdk, 'build-tools', '35.0.0'), { recursive: true });
  mkdirSync(join(sdk, 'platforms', 'android-35'), { recursive: true });
  return sdk;
}

void test('web needs node only; android needs Java and an SDK with platform-tools and build-tools', async (t) => {
  const root = tempDir(t);
  const bin = join(root, 'bin');
  mkdirSync(bin);
  tool(bin, 'npm', '10.9.2');
  tool(bin, 'pnpm', '9.15.0');

  const nodeOnly = await detectToolchains({ env: { PATH: bin }, os: 'linux' });
  assert.deepEqual(nodeOnly.packageManagers, { npm: '10.9.2', pnpm: '9.15.0' });
  assert.deepEqual(platformsFor(nodeOnly, 'linux'), ['web']);

  // An SDK without Java is not enough, and neither is Java without an SDK.
  const sdk = fakeSdk(root);
  assert.deepEqual(platformsFor(await detectToolchains({ env: { PATH: bin, ANDROID_HOME: sdk }, os: 'linux' }), 'linux'), ['web']);
  tool(bin, 'java', 'openjdk version "17.0.12" 2024-07-16', true);
  assert.deepEqual(platformsFor(await detectToolchains({ env: { PATH: bin }, os: 'linux' }), 'linux'), ['web']);
  // An SDK root missing build-tools does not count.
  const empty = join(root, 'empty-sdk');
  mkdirSync(join(empty, 'platform-tools'), { recursive: true });
  assert.deepEqual(platformsFor(await detectToolchains({ env: { PATH: bin, ANDROID_SDK_ROOT: empty }, os: 'linux' }), 'linux'), ['web']);

  const android = await detectToolchains({ env: { PATH: bin, ANDROID_SDK_ROOT: sdk }, os: 'linux' });
  assert.equal(android.java, '17.0.12');
  assert.deepEqual(android.android, { sdkRoot: sdk, buildTools: ['34.0.0', '35.0.0'], platforms: ['android-35'] });
  assert.deepEqual(platformsFor(android, 'linux'), ['android', 'web']);
});

void test('ios needs macOS, xcodebuild, CocoaPods and fastlane; the Xcode version becomes a label', async (t) => {
  const root = tempDir(t);
  const bin = join(root, 'bin');
  mkdirSync(bin);
  tool(bin, 'xcodebuild', 'Xcode 16.2\nBuild version 16C5032a');
  tool(bin, 'pod', '1.16.2');
  const noFastlane = await detectToolchains({ env: { PATH: bin }, os: 'darwin' });
  assert.equal(noFastlane.xcode, '16.2');
  assert.deepEqual(platformsFor(noFastlane, 'darwin'), ['web']);
  tool(bin, 'fastlane', 'fastlane 2.226.0');
  const mac = await detectToolchains({ env: { PATH: bin }, os: 'darwin' });
  assert.deepEqual(platformsFor(mac, 'darwin'), ['ios', 'web']);
  // The same tools on Linux build nothing for iOS.
  assert.deepEqual(platformsFor(await detectToolchains({ env: { PATH: bin }, os: 'linux' }), 'linux'), ['web']);

  assert.deepEqual(labelsFor(mac, { team: 'mobile', xcode: '99', os: 'windows' }, 'darwin', 'arm64'), { team: 'mobile', xcode: '16.2', os: 'macos', arch: 'arm64' });
  assert.deepEqual(labelsFor({ node: '20', packageManagers: {} }, { xcode: '16.2' }, 'linux', 'x64'), { os: 'linux', arch: 'x64' });
});

void test('the capabilities of this machine fit the protocol: name, platforms, labels, toolchain facts', async () => {
  const { capabilities } = await detectCapabilities({ name: 'ci-box', labels: { pool: 'a' }, concurrency: 2, version: '0.1.0' });
  assert.equal(capabilities.name, 'ci-box');
  assert.ok(capabilities.platforms.includes('web'));
  assert.equal(capabilities.labels.pool, 'a');
  assert.equal(capabilities.labels.arch, process.arch);
  assert.equal(capabilities.toolchains?.node, process.versions.node);
  for (const value of Object.values(capabilities.toolchains ?? {})) assert.ok(value.length <= 256);
});
