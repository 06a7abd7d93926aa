/**
 * What this machine can build, detected from its toolchains, never declared:
 * a worker that advertised Android without an SDK would take Android builds and
 * fail every one of them.
 *
 *   web     = node (the worker runs on it, so always)
 *   android = Java + an Android SDK (ANDROID_HOME / ANDROID_SDK_ROOT with platform-tools and build-tools)
 *   ios     = macOS + xcodebuild + CocoaPods (pod) + fastlane
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readdir, stat } from 'node:fs/promises';
import { arch, platform } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Capabilities, Labels, Platform } from '@buildmesh/protocol';

export interface Toolchains {
  node: string;
  /** Package manager → version, for those on PATH. */
  packageManagers: Partial<Record<'npm' | 'yarn' | 'pnpm' | 'bun', string>>;
  java?: string;
  android?: { sdkRoot: string; buildTools: string[]; platforms: string[] };
  xcode?: string;
  cocoapods?: string;
  fastlane?: string;
}

export interface DetectOptions {
  env?: NodeJS.ProcessEnv;
  /** Defaults to the running OS; tests pass another to check the rules. */
  os?: NodeJS.Platform;
}

const VERSION_TIMEOUT_MS = 20_000;

/** Finds an executable on PATH without spawning a shell. */
export async function findOnPath(command: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      await access(candidate, constants.X_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Runs `file args` and returns stdout+stderr, or undefined if it fails or hangs. */
function output(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: VERSION_TIMEOUT_MS, maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      resolve(err ? undefined : `${stdout}\n${stderr}`);
    });
  });
}

const firstVersion = (text: string | undefined): string | undefined => text?.match(/\d+(?:\.\d+)+(?:[-+.\w]*)?/)?.[0];

async function versionOf(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const path = await findOnPath(command, env);
  if (!path) return undefined;
  return firstVersion(await output(path, args, env)) ?? 'unknown';
}

async function subdirectories(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

async function detectAndroidSdk(env: NodeJS.ProcessEnv): Promise<Toolchains['android']> {
  for (const sdkRoot of [env.ANDROID_HOME, env.ANDROID_SDK_ROOT]) {
    if (!sdkRoot) continue;
    const buildTools = await subdirectories(join(sdkRoot, 'build-tools'));
    const hasPlatformTools = (await subdirectories(sdkRoot)).includes('platform-tools');
    if (hasPlatformTools && buildTools.length > 0) {
      return { sdkRoot, buildTools, platforms: await subdirectories(join(sdkRoot, 'platforms')) };
    }
  }
  return undefined;
}

export async function detectToolchains(options: DetectOptions = {}): Promise<Toolchains> {
  const env = options.env ?? process.env;
  const os = options.os ?? platform();
  const darwin = os === 'darwin';
  const [npm, yarn, pnpm, bun, java, android, xcodeOut, cocoapods, fastlanePath] = await Promise.all([
    versionOf('npm', ['--version'], env),
    versionOf('yarn', ['--version'], env),
    versionOf('pnpm', ['--version'], env),
    versionOf('bun', ['--version'], env),
    // `java -version` prints to stderr: `openjdk version "17.0.12" 2024-07-16`.
    versionOf('java', ['-version'], env),
    detectAndroidSdk(env),
    darwin ? findOnPath('xcodebuild', env).then((p) => (p ? output(p, ['-version'], env) : undefined)) : undefined,
    darwin ? versionOf('pod', ['--version'], env) : undefined,
    // fastlane's own --version takes seconds (it loads Ruby gems); being on PATH is what matters.
    darwin ? findOnPath('fastlane', env) : undefined,
  ]);
  const packageManagers: Toolchains['packageManagers'] = {};
  for (const [name, version] of Object.entries({ npm, yarn, pnpm, bun })) {
    if (version) packageManagers[name as keyof Toolchains['packageManagers']] = version;
  }
  const xcode = xcodeOut?.match(/Xcode\s+(\d+(?:\.\d+)*)/)?.[1];
  return {
    node: process.versions.node,
    packageManagers,
    ...(java ? { java } : {}),
    ...(android ? { android } : {}),
    ...(xcode ? { xcode } : {}),
    ...(cocoapods ? { cocoapods } : {}),
    ...(fastlanePath ? { fastlane: 'installed' } : {}),
  };
}

/** The platforms these toolchains can build. */
export function platformsFor(t: Toolchains, os: NodeJS.Platform = platform()): Platform[] {
  const platforms: Platform[] = [];
  if (t.java && t.android) platforms.push('android');
  if (os === 'darwin' && t.xcode && t.cocoapods && t.fastlane) platforms.push('ios');
  platforms.push('web');
  return platforms;
}

/** User labels, then the detected ones over them (a user cannot claim an Xcode it does not have). */
export function labelsFor(t: Toolchains, userLabels: Labels, os: NodeJS.Platform = platform(), cpu: string = arch()): Labels {
  const labels: Labels = { ...userLabels, os: os === 'darwin' ? 'macos' : os, arch: cpu };
  if (t.xcode) labels.xcode = t.xcode;
  else delete labels.xcode;
  return labels;
}

/** Free-form facts for `buildmesh workers` (each value ≤ 256 characters). */
export function toolchainSummary(t: Toolchains): Record<string, string> {
  const facts: Record<string, string> = { node: t.node, ...t.packageManagers };
  if (t.java) facts.java = t.java;
  if (t.android) {
    facts['android-build-tools'] = t.android.buildTools.join(',').slice(0, 256);
    if (t.android.platforms.length) facts['android-platforms'] = t.android.platforms.join(',').slice(0, 256);
  }
  if (t.xcode) facts.xcode = t.xcode;
  if (t.cocoapods) facts.cocoapods = t.cocoapods;
  if (t.fastlane) facts.fastlane = t.fastlane;
  return facts;
}

export async function detectCapabilities(
  input: { name: string; labels: Labels; concurrency: number; version: string },
  options: DetectOptions = {},
): Promise<{ capabilities: Capabilities; toolchains: Toolchains }> {
  const os = options.os ?? platform();
  const toolchains = await detectToolchains(options);
  return {
    toolchains,
    capabilities: {
      name: input.name,
      platforms: platformsFor(toolchains, os),
      labels: labelsFor(toolchains, input.labels, os),
      concurrency: input.concurrency,
      version: input.version,
      toolchains: toolchainSummary(toolchains),
    },
  };
}
