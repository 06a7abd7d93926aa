/**
 * The Xcode side of an iOS build, decided once ios/ exists (after prebuild for managed projects):
 * which workspace, scheme and configuration to build, manual signing set on each credentialed
 * target (what EAS's CONFIGURE_XCODE_PROJECT does through @expo/config-plugins), and the files
 * the build step reads — a Gymfile for fastlane, ExportOptions.plist for xcodebuild, and
 * `build/buildmesh-xcode.env` with the resolved names for the xcodebuild commands.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ResolvedProfile } from '@buildmesh/protocol';
import type { SignedTarget } from './ios-credentials.js';
import { PipelineError } from './pipeline-error.js';
import { buildPlist, parsePlist, type PlistValue } from './plist.js';
import { readFileInside } from '../workspace/inside.js';

export interface XcodeProjectSettings {
  /** `-workspace` or `-project`, and the path relative to ios/. */
  containerFlag: '-workspace' | '-project';
  container: string;
  /** The .xcodeproj relative to ios/ (the pbxproj lives inside). */
  xcodeproj: string;
  scheme: string;
  configuration: string;
  /** The app's platform, from its SDKROOT: tvOS apps build for the tvOS simulator. */
  platform: 'ios' | 'tvos';
}

/** xcodebuild's simulator SDK and generic destination for the app's platform (EAS's resolveDestination). */
export function simulatorTarget(platform: XcodeProjectSettings['platform']): { sdk: string; destination: string } {
  return platform === 'tvos'
    ? { sdk: 'appletvsimulator', destination: 'generic/platform=tvOS Simulator' }
    : { sdk: 'iphonesimulator', destination: 'generic/platform=iOS Simulator' };
}

/** Relative to ios/: what CONFIGURE_XCODE_PROJECT writes and the xcodebuild commands source. */
export const XCODE_SETTINGS_FILE = 'build/buildmesh-xcode.env';
export const EXPORT_OPTIONS_FILE = 'build/ExportOptions.plist';

export type ExportMethod = 'app-store' | 'ad-hoc' | 'enterprise' | 'development';

/**
 * The export method, as EAS takes it: from the provisioning profile the app target is signed with
 * (development, ad-hoc, enterprise or app-store, see verifyProvisioningProfile). Without
 * credentials it falls back to the profile: store → app-store; internal → ad-hoc, or enterprise
 * for universal provisioning.
 */
export function exportMethod(profile: ResolvedProfile, targets: readonly Pick<SignedTarget, 'name' | 'profileType'>[] = []): ExportMethod {
  const signed = targets.find((t) => t.name === null) ?? targets[0];
  if (signed) return signed.profileType;
  if (profile.distribution === 'internal') return profile.enterpriseProvisioning === 'universal' ? 'enterprise' : 'ad-hoc';
  return 'app-store';
}

/** The entitlement key whose value becomes the Gymfile's iCloudContainerEnvironment. */
export const ICLOUD_ENVIRONMENT_ENTITLEMENT = 'com.apple.developer.icloud-container-environment';

/**
 * The app's iCloud container environment (Development or Production) from its entitlements file in
 * ios/<dir>/*.entitlements, as EAS's Gymfile carries it; null when the app does not use iCloud.
 */
export async function iCloudContainerEnvironment(iosDir: string): Promise<string | null> {
  const entries = existsSync(iosDir) ? await readdir(iosDir, { withFileTypes: true }) : [];
  for (const dir of entries.filter((e) => e.isDirectory() && !e.name.endsWith('.xcodeproj') && e.name !== 'Pods').map((e) => e.name).sort()) {
    const files = (await readdir(join(iosDir, dir))).filter((f) => f.endsWith('.entitlements')).sort();
    for (const file of files) {
      let parsed: PlistValue;
      try {
        parsed = parsePlist(await readFileInside(iosDir, join(iosDir, dir, file)));
      } catch {
        continue;
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || Buffer.isBuffer(parsed) || parsed instanceof Date) continue;
      const value = parsed[ICLOUD_ENVIRONMENT_ENTITLEMENT];
      if (typeof value === 'string') return value;
      if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
    }
  }
  return null;
}

export function buildConfiguration(profile: ResolvedProfile): string {
  return profile.buildConfiguration ?? (profile.developmentClient ? 'Debug' : 'Release');
}

async function sharedSchemes(dir: string): Promise<string[]> {
  try {
    return (await readdir(join(dir, 'xcshareddata', 'xcschemes'))).filter((f) => f.endsWith('.xcscheme')).map((f) => f.slice(0, -'.xcscheme'.length));
  } catch {
    return [];
  }
}

/** Finds the workspace (or project) and picks the scheme: the profile's, the only one, or the one named like the project. */
export async function resolveXcodeProject(iosDir: string, profile: ResolvedProfile): Promise<XcodeProjectSettings> {
  const entries = existsSync(iosDir) ? await readdir(iosDir) : [];
  const xcodeprojs = entries.filter((e) => e.endsWith('.xcodeproj')).sort();
  const workspaces = entries.filter((e) => e.endsWith('.xcworkspace')).sort();
  const xcodeproj = xcodeprojs[0];
  if (!xcodeproj) throw new PipelineError('XCODE_BUILD_FAILED', 'ios/ has no .xcodeproj, so there is nothing to build.');
  const projectName = basename(xcodeproj, '.xcodeproj');
  const workspace = workspaces.find((w) => basename(w, '.xcworkspace') === projectName) ?? workspaces[0];

  const schemes = [...new Set([
    ...(await sharedSchemes(join(iosDir, xcodeproj))),
    ...(workspace ? await sharedSchemes(join(iosDir, workspace)) : []),
  ])].sort();
  let scheme = profile.scheme;
  if (!scheme) {
    if (schemes.length === 1) scheme = schemes[0]!;
    else if (schemes.includes(projectName)) scheme = projectName;
    else {
      throw new PipelineError(
        'XCODE_BUILD_FAILED',
        schemes.length === 0
          ? 'The Xcode project has no shared scheme; share one in Xcode or set "scheme" in the ios section of the build profile.'
          : `The Xcode project has several schemes (${schemes.join(', ')}); set "scheme" in the ios section of the build profile.`,
      );
    }
  }
  let pbx = '';
  try {
    pbx = await readFileInside(iosDir, join(iosDir, xcodeproj, 'project.pbxproj'));
  } catch {
    // no pbxproj: xcodebuild reports it
  }
  return {
    containerFlag: workspace ? '-workspace' : '-project',
    container: workspace ?? xcodeproj,
    xcodeproj,
    scheme,
    configuration: buildConfiguration(profile),
    platform: /\bSDKROOT = appletvos;/.test(pbx) ? 'tvos' : 'ios',
  };
}

/** `KEY='value'` lines for `set -a; . file`: single quotes, with embedded ones closed and escaped. */
export function shellEnvFile(values: Record<string, string>): string {
  return Object.entries(values).map(([k, v]) => `${k}='${v.replace(/'/g, `'\\''`)}'\n`).join('');
}

export function xcodeSettingsEnv(settings: XcodeProjectSettings, keychainPath: string | null): string {
  return shellEnvFile({
    XCODE_CONTAINER_FLAG: settings.containerFlag,
    XCODE_CONTAINER: settings.container,
    XCODE_SCHEME: settings.scheme,
    XCODE_CONFIGURATION: settings.configuration,
    XCODE_SIMULATOR_SDK: simulatorTarget(settings.platform).sdk,
    XCODE_SIMULATOR_DESTINATION: simulatorTarget(settings.platform).destination,
    ...(keychainPath ? { XCODE_KEYCHAIN: keychainPath } : {}),
  });
}

// ---------------------------------------------------------------------------------------------
// project.pbxproj: manual signing per target. Xcode (and the xcode npm package prebuild uses)
// writes each object at two tabs of indent and closes it with "\n\t\t};", which is what lets a
// small scanner edit it without a full parser.

interface PbxObject {
  id: string;
  start: number;
  end: number;
  body: string;
}

function findObject(pbx: string, id: string): PbxObject | null {
  const re = new RegExp(`\\n\\t\\t${id}(?: /\\*.*?\\*/)? = \\{`);
  const m = re.exec(pbx);
  if (!m) return null;
  const start = m.index;
  const end = pbx.indexOf('\n\t\t};', start);
  if (end === -1) return null;
  return { id, start, end: end + 5, body: pbx.slice(start, end + 5) };
}

function unquote(value: string): string {
  const v = value.trim();
  return v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1).replace(/\\"/g, '"').replace(/\\\\/g, '\\') : v;
}

function quote(value: string): string {
  return /^[A-Za-z0-9_./$]+$/.test(value) ? value : `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export interface PbxTarget {
  id: string;
  name: string;
  productType: string;
  configurationListId: string;
}

export function listNativeTargets(pbx: string): PbxTarget[] {
  const targets: PbxTarget[] = [];
  const re = /\n\t\t([0-9A-F]{24})(?: \/\*.*?\*\/)? = \{\n\t\t\tisa = PBXNativeTarget;([\s\S]*?)\n\t\t\};/g;
  for (let m = re.exec(pbx); m; m = re.exec(pbx)) {
    const body = m[2]!;
    const field = (name: string) => new RegExp(`\\n\\t\\t\\t${name} = (.*?);`).exec(body)?.[1];
    targets.push({
      id: m[1]!,
      name: unquote(field('name') ?? ''),
      productType: unquote(field('productType') ?? ''),
      configurationListId: (field('buildConfigurationList') ?? '').split(' ')[0]!,
    });
  }
  return targets;
}

/** Sets (or replaces) build settings in one XCBuildConfiguration object. */
function setBuildSettings(pbx: string, configId: string, settings: Record<string, string>): string {
  const obj = findObject(pbx, configId);
  if (!obj) throw new PipelineError('XCODE_BUILD_FAILED', `project.pbxproj has no build configuration ${configId}.`);
  const open = obj.body.indexOf('buildSettings = {');
  const close = obj.body.indexOf('\n\t\t\t};', open);
  if (open === -1 || close === -1) throw new PipelineError('XCODE_BUILD_FAILED', `Build configuration ${configId} has no buildSettings.`);
  let block = obj.body.slice(open, close);
  for (const [key, value] of Object.entries(settings)) {
    const k = quote(key);
    const line = `\n\t\t\t\t${k} = ${quote(value)};`;
    const existing = new RegExp(`\\n\\t\\t\\t\\t${k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} = [^\\n]*;`);
    block = existing.test(block) ? block.replace(existing, () => line) : `${block}${line}`;
  }
  const body = `${obj.body.slice(0, open)}${block}${obj.body.slice(close)}`;
  return `${pbx.slice(0, obj.start)}${body}${pbx.slice(obj.end)}`;
}

function configurationIds(pbx: string, listId: string, configuration: string): string[] {
  const list = findObject(pbx, listId);
  if (!list) return [];
  const ids = [...list.body.matchAll(/\n\t\t\t\t([0-9A-F]{24})(?: \/\* (.*?) \*\/)?,/g)];
  return ids
    .filter(([, id]) => {
      const obj = findObject(pbx, id!);
      return obj !== null && new RegExp(`\\n\\t\\t\\tname = ${quote(configuration).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')};`).test(obj.body);
    })
    .map(([, id]) => id!);
}

/**
 * Manual signing for each signed target in `configuration`: team, profile (by UUID) and the exact
 * certificate. A target named by the credentials but absent from the project is an error, except
 * the single-target case, which signs the app target (what a single-target credentials.json means).
 */
export function applyManualSigning(pbx: string, targets: SignedTarget[], configuration: string): { pbx: string; applied: string[] } {
  const native = listNativeTargets(pbx);
  const appTarget = native.find((t) => t.productType === 'com.apple.product-type.application');
  const applied: string[] = [];
  for (const signed of targets) {
    let target = signed.name ? native.find((t) => t.name === signed.name) : appTarget;
    if (!target && targets.length === 1) target = appTarget;
    if (!target) {
      throw new PipelineError(
        'SIGNING_MISMATCH',
        `The credentials are for target "${signed.name}", which the Xcode project does not have (targets: ${native.map((t) => t.name).join(', ')}).`,
      );
    }
    const ids = configurationIds(pbx, target.configurationListId, configuration);
    if (ids.length === 0) {
      throw new PipelineError('XCODE_BUILD_FAILED', `Target "${target.name}" has no "${configuration}" build configuration.`);
    }
    for (const id of ids) {
      pbx = setBuildSettings(pbx, id, {
        CODE_SIGN_STYLE: 'Manual',
        DEVELOPMENT_TEAM: signed.teamId,
        PROVISIONING_PROFILE_SPECIFIER: signed.profileUuid,
        CODE_SIGN_IDENTITY: signed.certificateCommonName || 'iPhone Distribution',
        'CODE_SIGN_IDENTITY[sdk=iphoneos*]': signed.certificateCommonName || 'iPhone Distribution',
      });
    }
    applied.push(`${target.name} (${signed.bundleIdentifier}) → profile ${signed.profileUuid}`);
  }
  return { pbx, applied };
}

// ---------------------------------------------------------------------------------------------
// Gymfile (fastlane) and ExportOptions.plist (xcodebuild -exportArchive).

/** A Ruby double-quoted string literal (no interpolation). */
function ruby(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/#/g, '\\#')}"`;
}

export function renderGymfile(input: {
  settings: XcodeProjectSettings;
  method: ExportMethod;
  targets: SignedTarget[];
  keychainPath: string | null;
  /** The app's iCloud container environment, carried into the export options when set. */
  iCloudEnvironment?: string | null;
}): string {
  const { settings, method, targets, keychainPath, iCloudEnvironment } = input;
  const lines = [
    '# Generated by BuildMesh for this build; a Gymfile committed in ios/ is used instead.',
    `${settings.containerFlag === '-workspace' ? 'workspace' : 'project'}(${ruby(settings.container)})`,
    `scheme(${ruby(settings.scheme)})`,
    `configuration(${ruby(settings.configuration)})`,
    'clean(false)',
    `export_method(${ruby(method)})`,
  ];
  if (targets.length > 0) {
    lines.push(
      'export_options({',
      '  signingStyle: "manual",',
      `  teamID: ${ruby(targets[0]!.teamId)},`,
      '  provisioningProfiles: {',
      ...targets.map((t) => `    ${ruby(t.bundleIdentifier)} => ${ruby(t.profileUuid)},`),
      ...(iCloudEnvironment ? ['  },', `  iCloudContainerEnvironment: ${ruby(iCloudEnvironment)}`] : ['  }']),
      '})',
    );
  } else if (iCloudEnvironment) {
    lines.push(`export_options({ iCloudContainerEnvironment: ${ruby(iCloudEnvironment)} })`);
  }
  if (keychainPath) {
    const flags = ruby(`OTHER_CODE_SIGN_FLAGS="--keychain ${keychainPath}"`);
    lines.push(`xcargs(${flags})`, `export_xcargs(${flags})`);
  }
  // Derived data per build (in ios/build), as EAS's Gymfile: never shared with other builds on the worker.
  lines.push('disable_xcpretty(true)', 'buildlog_path("build/logs")', 'derived_data_path("build")', 'output_directory("build")', '');
  return lines.join('\n');
}

export function renderExportOptions(method: ExportMethod, targets: SignedTarget[], iCloudEnvironment: string | null = null): string {
  const first = targets[0];
  return buildPlist({
    method,
    ...(iCloudEnvironment ? { iCloudContainerEnvironment: iCloudEnvironment } : {}),
    ...(first
      ? {
          signingStyle: 'manual',
          teamID: first.teamId,
          signingCertificate: first.certificateSha1,
          provisioningProfiles: Object.fromEntries(targets.map((t) => [t.bundleIdentifier, t.profileUuid])),
        }
      : {}),
  });
}
