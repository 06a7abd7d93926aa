import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withChannelPhase } from '../src/runner/expo-updates-channel.js';
import type { Phase } from '../src/runner/plan.js';
import { runnerHarness } from './support/runner-fixtures.js';

const phase = (name: string): Phase => ({ name, steps: [] });

void test('the profile channel becomes the expo-channel-name request header in AndroidManifest.xml and Expo.plist, before the build phase', async (t) => {
  assert.deepEqual(withChannelPhase([phase('PREBUILD'), phase('RUN_GRADLEW')], 'android', 'preview', true).map((p) => p.name), ['PREBUILD', 'CONFIGURE_EXPO_UPDATES', 'RUN_GRADLEW']);
  assert.equal(withChannelPhase([phase('RUN_GRADLEW')], 'android', 'preview', false).length, 1, 'no expo-updates: nothing to configure');
  assert.equal(withChannelPhase([phase('RUN_GRADLEW')], 'android', undefined, true).length, 1, 'no channel: nothing to configure');

  const h = await runnerHarness(t);
  const manifest = join(h.workspace.projectDir, 'android', 'app', 'src', 'main', 'AndroidManifest.xml');
  mkdirSync(join(manifest, '..'), { recursive: true });
  writeFileSync(manifest, '<manifest>\n  <application android:name=".MainApplication">\n  </application>\n</manifest>\n');
  const plist = join(h.workspace.projectDir, 'ios', 'MyApp', 'Supporting', 'Expo.plist');
  mkdirSync(join(plist, '..'), { recursive: true });
  writeFileSync(plist, '<?xml version="1.0"?>\n<plist version="1.0">\n<dict>\n\t<key>EXUpdatesEnabled</key>\n\t<true/>\n</dict>\n</plist>\n');

  const android = withChannelPhase([phase('RUN_GRADLEW')], 'android', 'pre"view', true);
  await h.runner.run(android.slice(0, 1));
  await h.runner.run(android.slice(0, 1)); // twice: replaced, not added again
  await h.runner.run(withChannelPhase([phase('RUN_FASTLANE')], 'ios', 'preview', true).slice(0, 1));
  assert.equal(h.runner.result().outcome, 'succeeded');
  const xml = readFileSync(manifest, 'utf8');
  assert.equal(xml.match(/UPDATES_CONFIGURATION_REQUEST_HEADERS_KEY/g)?.length, 1);
  assert.match(xml, /android:value="\{&quot;expo-channel-name&quot;:&quot;pre\\&quot;view&quot;\}"/);
  assert.match(readFileSync(plist, 'utf8'), /<key>EXUpdatesRequestHeaders<\/key>\s*<dict>\s*<key>expo-channel-name<\/key>\s*<string>preview<\/string>\s*<\/dict>\s*<\/dict>\s*<\/plist>/);
});
