import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withAppVersionPhase } from '../src/runner/app-version.js';
import type { Phase } from '../src/runner/plan.js';
import { runnerHarness } from './support/runner-fixtures.js';

const phase = (name: string): Phase => ({ name, steps: [] });

void test('CONFIGURE_APP_VERSION goes right before the build phase and writes versionCode / CFBundleVersion', async (t) => {
  const android = withAppVersionPhase([phase('INSTALL_DEPENDENCIES'), phase('PREPARE_CREDENTIALS'), phase('RUN_GRADLEW')], 'android', 7);
  assert.deepEqual(android.map((p) => p.name), ['INSTALL_DEPENDENCIES', 'PREPARE_CREDENTIALS', 'CONFIGURE_APP_VERSION', 'RUN_GRADLEW']);
  assert.equal(withAppVersionPhase([phase('RUN_GRADLEW')], 'android', undefined).length, 1, 'no version: no phase');
  assert.equal(withAppVersionPhase([phase('EXPORT_WEB')], 'web', 3).length, 1, 'web has no build version');

  const h = await runnerHarness(t);
  const gradle = join(h.workspace.projectDir, 'android', 'app', 'build.gradle');
  mkdirSync(join(h.workspace.projectDir, 'android', 'app'), { recursive: true });
  writeFileSync(gradle, 'android {\n  defaultConfig {\n    versionCode 1\n    versionName "1.0.0"\n  }\n}\n');
  const plist = join(h.workspace.projectDir, 'ios', 'MyApp', 'Info.plist');
  mkdirSync(join(h.workspace.projectDir, 'ios', 'MyApp'), { recursive: true });
  writeFileSync(plist, '<plist><dict>\n  <key>CFBundleVersion</key>\n  <string>1</string>\n</dict></plist>\n');
  await h.runner.run(android.filter((p) => p.name === 'CONFIGURE_APP_VERSION'));
  await h.runner.run(withAppVersionPhase([phase('RUN_FASTLANE')], 'ios', 12).filter((p) => p.name === 'CONFIGURE_APP_VERSION'));
  assert.equal(h.runner.result().outcome, 'succeeded');
  assert.match(readFileSync(gradle, 'utf8'), /versionCode 7\n/);
  assert.match(readFileSync(plist, 'utf8'), /<key>CFBundleVersion<\/key>\n {2}<string>12<\/string>/);
});

void test('a build.gradle the build replaced with a symlink is refused, not written through', async (t) => {
  const h = await runnerHarness(t);
  const outside = join(h.workspace.root, 'host-file');
  writeFileSync(outside, 'versionCode 1\n');
  mkdirSync(join(h.workspace.projectDir, 'android', 'app'), { recursive: true });
  symlinkSync(outside, join(h.workspace.projectDir, 'android', 'app', 'build.gradle'));
  await h.runner.run(withAppVersionPhase([phase('RUN_GRADLEW')], 'android', 9).slice(0, 1));
  assert.equal(h.runner.result().outcome, 'failed');
  assert.equal(readFileSync(outside, 'utf8'), 'versionCode 1\n', 'the file outside is untouched');
});
