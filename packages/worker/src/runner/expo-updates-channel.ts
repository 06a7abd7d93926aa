/**
 * The profile's `channel` for expo-updates, written into the native project as EAS writes it,
 * when the project depends on expo-updates: the request header `expo-channel-name` —
 * Android: the `expo.modules.updates.UPDATES_CONFIGURATION_REQUEST_HEADERS_KEY` meta-data in
 * android/app/src/main/AndroidManifest.xml; iOS: `EXUpdatesRequestHeaders` in
 * ios/<app>/Supporting/Expo.plist. A phase of its own, CONFIGURE_EXPO_UPDATES, right before the
 * build phase (after prebuild generated those files); build code ran before it, so files are read
 * and written without following symlinks.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Platform } from '@buildmesh/protocol';
import { readFileInside, writeFileInside } from '../workspace/inside.js';
import { BuildFailure } from './build-failure.js';
import type { Phase } from './plan.js';

const BUILD_PHASE: Partial<Record<Platform, string>> = { android: 'RUN_GRADLEW', ios: 'RUN_FASTLANE' };
const ANDROID_KEY = 'expo.modules.updates.UPDATES_CONFIGURATION_REQUEST_HEADERS_KEY';

const xml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The plan with CONFIGURE_EXPO_UPDATES before its build phase, when a channel is set and expo-updates is a dependency. */
export function withChannelPhase(phases: Phase[], platform: Platform, channel: string | undefined, usesExpoUpdates: boolean): Phase[] {
  const target = BUILD_PHASE[platform];
  const at = target ? phases.findIndex((p) => p.name === target) : -1;
  if (!channel || !usesExpoUpdates || at < 0) return phases;
  const phase: Phase = {
    name: 'CONFIGURE_EXPO_UPDATES',
    title: 'Configure expo-updates',
    steps: [
      {
        kind: 'task',
        describe: `set the expo-updates channel to ${channel}`,
        run: async ({ projectDir, log }) => {
          const files = platform === 'android' ? [await setAndroidChannel(projectDir, channel)] : await setIosChannel(projectDir, channel);
          for (const file of files) log(`${file}: expo-channel-name "${channel}"`);
        },
      },
    ],
  };
  return [...phases.slice(0, at), phase, ...phases.slice(at)];
}

export async function setAndroidChannel(projectDir: string, channel: string): Promise<string> {
  const rel = join('android', 'app', 'src', 'main', 'AndroidManifest.xml');
  const text = await readFileInside(projectDir, join(projectDir, rel)).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new BuildFailure('STEP_FAILED', `${rel} is missing: cannot set the expo-updates channel`);
    throw err;
  });
  const value = xml(JSON.stringify({ 'expo-channel-name': channel }));
  const existing = new RegExp(`(<meta-data\\s+android:name="${ANDROID_KEY.replace(/\./g, '\\.')}"\\s+android:value=")[^"]*(")`);
  let next: string;
  if (existing.test(text)) next = text.replace(existing, `$1${value}$2`);
  else if (text.includes('</application>')) next = text.replace('</application>', `  <meta-data android:name="${ANDROID_KEY}" android:value="${value}"/>\n  </application>`);
  else throw new BuildFailure('STEP_FAILED', `${rel} has no <application> element to put the expo-updates channel in`);
  await writeFileInside(projectDir, join(projectDir, rel), next);
  return rel;
}

export async function setIosChannel(projectDir: string, channel: string): Promise<string[]> {
  const changed: string[] = [];
  for (const entry of await readdir(join(projectDir, 'ios'), { withFileTypes: true }).catch(() => [])) {
    if (!entry.isDirectory() || entry.name === 'Pods' || entry.name.includes('.xc')) continue;
    const rel = join('ios', entry.name, 'Supporting', 'Expo.plist');
    let text: string;
    try {
      text = await readFileInside(projectDir, join(projectDir, rel));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const headers = `<key>EXUpdatesRequestHeaders</key>\n\t<dict>\n\t\t<key>expo-channel-name</key>\n\t\t<string>${xml(channel)}</string>\n\t</dict>`;
    const existing = /<key>EXUpdatesRequestHeaders<\/key>\s*<dict>[\s\S]*?<\/dict>/;
    const next = existing.test(text) ? text.replace(existing, headers) : text.replace(/<\/dict>\s*<\/plist>\s*$/, `\t${headers}\n</dict>\n</plist>\n`);
    if (next === text) throw new BuildFailure('STEP_FAILED', `${rel} is not a property list BuildMesh can add the expo-updates channel to`);
    await writeFileInside(projectDir, join(projectDir, rel), next);
    changed.push(rel);
  }
  if (changed.length === 0) throw new BuildFailure('STEP_FAILED', 'no ios/*/Supporting/Expo.plist to set the expo-updates channel in (is expo-updates installed and prebuilt?)');
  return changed;
}
