/**
 * Known failure patterns of each phase, mapped to stable codes from BuildErrors (EAS does the
 * same in build-tools' buildErrors/detectError.ts). The runner matches a failed phase's last log
 * lines against its list in order; the first match names the failure. Lists of phases with a
 * catch-all code end with it, so a failing Gradle or pod install is never just "a step failed".
 * Task steps need no patterns: they throw a PipelineError whose code the runner keeps.
 * Explanations are one line a person can act on.
 */
import { BuildErrors, type BuildErrorCode } from '@buildmesh/protocol';
import type { FailurePattern } from '../runner/plan.js';

function pattern(code: BuildErrorCode, re: RegExp, explanation?: string): FailurePattern {
  return { code, pattern: re, explanation: explanation ?? BuildErrors[code] };
}

const ANY = /[\s\S]*/;

/**
 * The tool itself is absent: bash's "x: command not found", Node's "spawn x ENOENT", env's
 * "env: 'x': No such file or directory", sh's "x: not found", bash's "/abs/x: No such file…".
 */
export function toolMissing(tools: readonly string[], what: string): FailurePattern {
  const names = tools.map((t) => t.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|');
  return pattern(
    'TOOLCHAIN_MISSING',
    new RegExp(`(?:(?:^|[\\s:'"])(?:${names})'?: (?:command not found|not found|No such file or directory)|spawn (?:${names}) ENOENT)`, 'm'),
    `${what} is not installed on this worker (or not on its PATH).`,
  );
}

const PACKAGE_MANAGERS = ['npm', 'npx', 'yarn', 'pnpm', 'bun', 'corepack', 'node'];

export const INSTALL_FAILURES: FailurePattern[] = [
  toolMissing(PACKAGE_MANAGERS, 'The package manager (or Node.js)'),
  pattern('LOCKFILE_MISSING', /can only install with an existing package-lock\.json or npm-shrinkwrap\.json/,
    'npm ci needs package-lock.json: run `npm install` locally and commit package-lock.json.'),
  pattern('LOCKFILE_MISSING', /ERR_PNPM_NO_LOCKFILE|pnpm-lock\.yaml is absent/,
    'pnpm needs pnpm-lock.yaml: run `pnpm install` locally and commit pnpm-lock.yaml.'),
  pattern('LOCKFILE_MISSING', /lockfile would have been created by this install, which is explicitly forbidden/,
    'Yarn needs yarn.lock: run `yarn install` locally and commit yarn.lock.'),
  pattern('LOCKFILE_OUT_OF_SYNC', /can only install packages when your package\.json and package-lock\.json(?: or npm-shrinkwrap\.json)? are in sync/,
    'package-lock.json does not match package.json: run `npm install` locally and commit package-lock.json.'),
  pattern('LOCKFILE_OUT_OF_SYNC', /Your lockfile needs to be updated, but yarn was run with `?--frozen-lockfile`?/,
    'yarn.lock does not match package.json: run `yarn install` locally and commit yarn.lock.'),
  pattern('LOCKFILE_OUT_OF_SYNC', /lockfile would have been modified by this install, which is explicitly forbidden|YN0028/,
    'yarn.lock does not match package.json: run `yarn install` locally and commit yarn.lock.'),
  pattern('LOCKFILE_OUT_OF_SYNC', /ERR_PNPM_OUTDATED_LOCKFILE|ERR_PNPM_LOCKFILE_CONFIG_MISMATCH/,
    'pnpm-lock.yaml does not match package.json: run `pnpm install` locally and commit pnpm-lock.yaml.'),
  pattern('LOCKFILE_OUT_OF_SYNC', /lockfile had changes, but lockfile is frozen/,
    'The bun lockfile does not match package.json: run `bun install` locally and commit the lockfile.'),
  pattern('INSTALL_FAILED', ANY),
];

export const HOOK_FAILURES: FailurePattern[] = [toolMissing(PACKAGE_MANAGERS, 'The package manager')];

export const PREBUILD_FAILURES: FailurePattern[] = [
  toolMissing(['npx', 'node', 'bash'], 'Node.js (npx)'),
  pattern('PREBUILD_FAILED', ANY),
];

export const GRADLE_FAILURES: FailurePattern[] = [
  pattern('GRADLE_OUT_OF_MEMORY',
    /OutOfMemoryError|Java heap space|Metaspace(?!Size)|GC overhead limit exceeded|Gradle build daemon disappeared unexpectedly/),
  pattern('SIGNING_MISMATCH',
    /Keystore was tampered with, or password was incorrect|Cannot recover key|Failed to read key .* from store|No key with alias .* found in keystore|Given final block not properly padded|KeytoolException|keystore password was incorrect/,
    'The keystore, its password, the key alias or the key password do not match; check the Android credentials.'),
  toolMissing(['java', 'bash'], 'A Java runtime'),
  pattern('TOOLCHAIN_MISSING',
    /JAVA_HOME is not set|JAVA_HOME is set to an invalid directory|Unable to locate a Java Runtime|SDK location not found|ANDROID_HOME|ANDROID_SDK_ROOT|NDK (?:is not installed|not configured)|licences? for the following SDK packages have not been accepted/,
    'The Android SDK, NDK or a JDK is missing or not configured on this worker.'),
  pattern('GRADLE_BUILD_FAILED', ANY),
];

/** Task steps throw PipelineErrors with their own codes; these classify the `security`/`openssl` commands. */
export const IOS_CREDENTIALS_FAILURES: FailurePattern[] = [
  pattern('SIGNING_MISMATCH', /Mac verify error|MAC verification failed|invalid password/i,
    'The distribution certificate (.p12) could not be opened with its password.'),
  toolMissing(['security', 'openssl', '/usr/bin/openssl'], 'The macOS `security`/`openssl` tools'),
];

export const PODS_FAILURES: FailurePattern[] = [
  toolMissing(['pod'], 'CocoaPods'),
  pattern('PODS_INSTALL_FAILED', ANY),
];

export const XCODE_BUILD_FAILURES: FailurePattern[] = [
  toolMissing(['xcodebuild', 'fastlane', 'bash'], 'Xcode (xcodebuild) or fastlane'),
  pattern('TOOLCHAIN_MISSING', /xcode-select: error: tool 'xcodebuild' requires Xcode|unable to find utility "xcodebuild"|SDK "iphone(?:os|simulator)" cannot be located/,
    'Xcode is not installed or not selected on this worker (xcode-select).'),
  pattern('SIGNING_MISMATCH',
    /No signing certificate|doesn't include signing certificate|doesn't match the entitlements|requires a provisioning profile|No profiles for '.*' were found|errSecInternalComponent|Provisioning profile ".*" (?:doesn't|does not)/,
    'The certificate and provisioning profiles do not fit this app (bundle id, capabilities or certificate).'),
  pattern('XCODE_BUILD_FAILED', ANY),
];

export const WEB_EXPORT_FAILURES: FailurePattern[] = [
  toolMissing(['npx', 'node'], 'Node.js (npx)'),
  pattern('WEB_EXPORT_FAILED', ANY),
];
