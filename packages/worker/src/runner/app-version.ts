/**
 * Writes the build version the controller assigned (remote app versions with autoIncrement:
 * `profile.appBuildVersion`) into the native project just before it is built, as EAS does: Android
 * `versionCode` in android/app/build.gradle(.kts), iOS `CFBundleVersion` in the app targets'
 * Info.plist files. Runs as its own phase, CONFIGURE_APP_VERSION, before RUN_GRADLEW / RUN_FASTLANE
 * (after prebuild, which generates those files in a managed project). Build code ran before it:
 * the files are read and written without following a symlink (workspace/inside.ts).
 */

/** The file's text, or null when it does not exist; a symlink or special file is refused. */
async function readIfPresent(projectDir: string, rel: string): Promise<string | null> {
  try {
    return await readFileInside(projectDir, join(projectDir, rel));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Platform } from '@buildmesh/protocol';
import { readFileInside, writeFileInside } from '../workspace/inside.js';
import { BuildFailure } from './build-failure.js';
import type { Phase } from './plan.js';

const BUILD_PHASE: Partial<Record<Platform, string>> = { android: 'RUN_GRADLEW', ios: 'RUN_FASTLANE' };

/** The plan's phases with CONFIGURE_APP_VERSION before the build phase (unchanged without a version or that phase). */
export function withAppVersionPhase(phases: Phase[], platform: Platform, buildVersion: number | undefined): Phase[] {
  const target = BUILD_PHASE[platform];
  const at = target ? phases.findIndex((p) => p.name === target) : -1;
  if (buildVersion === undefined || at < 0) return phases;
  const phase: Phase = {
    name: 'CONFIGURE_APP_VERSION',
    title: 'Configure app version',
    steps: [
      {
        kind: 'task',
        describe: `set the build version to ${buildVersion}`,
        run: async ({ projectDir, log }) => {
          const changed = platform === 'android' ? await setAndroidVersionCode(projectDir, buildVersion) : await setIosBuildNumber(projectDir, buildVersion);
          for (const file of changed) log(`${file}: ${platform === 'android' ? 'versionCode' : 'CFBundleVersion'} ${buildVersion} (remote app version)`);
        },
      },
    ],
  };
  return [...phases.slice(0, at), phase, ...phases.slice(at)];
}

export async function setAndroidVersionCode(projectDir: string, versionCode: number): Promise<string[]> {
  for (const name of ['build.gradle', 'build.gradle.kts']) {
    const rel = join('android', 'app', name);
    const text = await readIfPresent(projectDir, rel);
    if (text === null) continue;
    const pattern = /(\bversionCode\s*=?\s*)\d+/;
    if (!pattern.test(text)) throw new BuildFailure('STEP_FAILED', `${rel} sets no versionCode to replace with the remote build version ${versionCode}`);
    await writeFileInside(projectDir, join(projectDir, rel), text.replace(pattern, `$1${versionCode}`));
    return [rel];
  }
  throw new BuildFailure('STEP_FAILED', 'android/app/build.gradle is missing: there is no versionCode to set');
}

export async function setIosBuildNumber(projectDir: string, buildNumber: number): Promise<string[]> {
  const changed: string[] = [];
  const ios = join(projectDir, 'ios');
  for (const entry of await readdir(ios, { withFileTypes: true }).catch(() => [])) {
    if (!entry.isDirectory() || entry.name === 'Pods' || entry.name.endsWith('.xcodeproj') || entry.name.endsWith('.xcworkspace')) continue;
    const rel = join('ios', entry.name, 'Info.plist');
    const text = await readIfPresent(projectDir, rel);
    if (text === null) continue;
    const pattern = /(<key>CFBundleVersion<\/key>\s*<string>)[^<]*(<\/string>)/;
    if (!pattern.test(text)) continue;
    await writeFileInside(projectDir, join(projectDir, rel), text.replace(pattern, `$1${buildNumber}$2`));
    changed.push(rel);
  }
  if (changed.length === 0) throw new BuildFailure('STEP_FAILED', `no ios/*/Info.plist has a CFBundleVersion to set to the remote build number ${buildNumber}`);
  return changed;
}
