/**
 * Build profiles from the project's own eas.json, resolved the way eas-cli resolves them
 * (packages/eas-json/src/build/resolver.ts), so a project that builds on EAS builds here unchanged:
 *
 *   - `extends` chains are followed parent-first (at most MAX_EXTENDS_DEPTH profiles, no cycles);
 *     a child's fields replace its parent's, except `env` and the `android`/`ios` sections, which
 *     are merged key by key;
 *   - then the platform section (`android`, `ios`, or BuildMesh's own `web`: EAS has no web
 *     platform) is merged over the common fields, `env` again key by key;
 *   - deprecated fields are mapped (`artifactPath` → `applicationArchivePath`,
 *     `releaseChannel` → `channel`) with a warning;
 *   - every field BuildMesh does not use, or does not know, is named in `warnings`: nothing is
 *     dropped silently.
 *
 * The CLI resolves the profile before uploading anything (a bad eas.json or an unknown profile
 * fails there, with the available profiles listed), the controller stores the result, and the
 * worker builds from it. The result always validates against `ResolvedProfile`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Value } from 'typebox/value';
import { EAS_JSON_FILE, ResolvedProfile, type Labels, type Platform } from '@buildmesh/protocol';

export type EasJsonErrorCode = 'EAS_JSON_MISSING' | 'EAS_JSON_INVALID' | 'PROFILE_NOT_FOUND' | 'PROFILE_INVALID';

/** Why eas.json or a profile cannot be used. `code` is stable; the message says what to fix. */
export class EasJsonError extends Error {
  constructor(
    readonly code: EasJsonErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'EasJsonError';
  }
}

/** eas-cli refuses chains of five or more `extends` hops; so do we. */
export const MAX_EXTENDS_DEPTH = 5;

export { EAS_JSON_FILE };

/**
 * Reads and parses `<projectDir>/eas.json`. Like eas-cli (which reads it as JSON5), comments and
 * trailing commas are accepted.
 */
export async function readEasJson(projectDir: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(join(projectDir, EAS_JSON_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new EasJsonError('EAS_JSON_MISSING', `No ${EAS_JSON_FILE} in ${projectDir}; create one with a "build" section (eas build:configure writes one).`);
    }
    throw new EasJsonError('EAS_JSON_INVALID', `Cannot read ${EAS_JSON_FILE}: ${(err as Error).message}`);
  }
  return parseEasJson(text);
}

/** Parses eas.json text: JSON plus the comments and trailing commas JSON5 allows. */
export function parseEasJson(text: string): unknown {
  try {
    return JSON.parse(stripJsonComments(text.replace(/^\uFEFF/, '')));
  } catch (err) {
    throw new EasJsonError('EAS_JSON_INVALID', `${EAS_JSON_FILE} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Index just past the JSON string literal that starts at `start` (a `"`), escapes included. */
function endOfString(text: string, start: number): number {
  let j = start + 1;
  while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
  return j + 1;
}

/** Removes // and /* *\/ comments outside strings, keeping line breaks (so error positions stay close), then trailing commas. */
function stripJsonComments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      const end = endOfString(text, i);
      out += text.slice(i, end);
      i = end;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const comment = text.slice(i, end === -1 ? text.length : end + 2);
      out += comment.replace(/[^\n]/g, ' ');
      i += comment.length;
    } else {
      out += c;
      i++;
    }
  }
  return removeTrailingCommas(out);
}

function removeTrailingCommas(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      const end = endOfString(text, i);
      out += text.slice(i, end);
      i = end;
      continue;
    }
    if (c === ',') {
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j]!)) j++;
      if (text[j] === '}' || text[j] === ']') {
        i++;
        continue;
      }
    }
    out += c;
    i++;
  }
  return out;
}

/** The build profile names an eas.json defines, in file order. */
export function listBuildProfiles(easJson: unknown): string[] {
  return Object.keys(buildSection(easJson));
}

// ---------------------------------------------------------------------------------------------
// Field catalogue: where each eas.json field may appear and what it holds.

type FieldKind =
  | { type: 'string' }
  | { type: 'boolean' }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'env' }
  | { type: 'string[]' }
  | { type: 'cache' }
  | { type: 'autoIncrement' };

const str: FieldKind = { type: 'string' };
const bool: FieldKind = { type: 'boolean' };
const oneOf = (...values: string[]): FieldKind => ({ type: 'enum', values });

/** Valid at the profile's top level and inside a platform section. */
const COMMON_FIELDS: Record<string, FieldKind> = {
  env: { type: 'env' },
  node: str,
  corepack: bool,
  yarn: str,
  pnpm: str,
  bun: str,
  credentialsSource: oneOf('local', 'remote'),
  withoutCredentials: bool,
  distribution: oneOf('store', 'internal'),
  channel: str,
  /** The EAS environment: builds also get the project secrets scoped to it (`secrets set --environment`). */
  environment: str,
  developmentClient: bool,
  prebuildCommand: str,
  autoIncrement: { type: 'autoIncrement' },
  buildArtifactPaths: { type: 'string[]' },
  cache: { type: 'cache' },
  config: str,
  resourceClass: str,
};

/** Valid only inside a platform section (android, ios or web). */
const PLATFORM_FIELDS: Record<string, FieldKind> = {
  applicationArchivePath: str,
  image: str,
};

const ANDROID_FIELDS: Record<string, FieldKind> = {
  buildType: oneOf('apk', 'app-bundle'),
  gradleCommand: str,
  ndk: str,
  keystoreName: str,
};

/** BuildMesh's own `web` section (EAS has no web platform): common fields, the artifact paths, and these. */
const WEB_FIELDS: Record<string, FieldKind> = {
  outputDir: str,
};

const IOS_FIELDS: Record<string, FieldKind> = {
  simulator: bool,
  scheme: str,
  buildConfiguration: str,
  enterpriseProvisioning: oneOf('adhoc', 'universal'),
  cocoapods: str,
  fastlane: str,
  bundler: str,
};

/** Deprecated names eas-cli still accepts, and the field each now means. */
const DEPRECATED_FIELDS: Record<string, { to: string; where: 'common' | 'platform' }> = {
  releaseChannel: { to: 'channel', where: 'common' },
  artifactPath: { to: 'applicationArchivePath', where: 'platform' },
};

/** Real eas.json fields that BuildMesh accepts but does not act on (reported, then left out). */
const UNSUPPORTED_FIELDS: Record<string, string> = {
  expoCli: 'the project\'s own expo package is used',
  uploadSourceMaps: 'source maps are not uploaded separately',
  ascApiKeyPath: 'App Store Connect keys are used only by eas submit',
  ascApiKeyId: 'App Store Connect keys are used only by eas submit',
  ascApiKeyIssuerId: 'App Store Connect keys are used only by eas submit',
  appleTeamId: 'the team comes from the provisioning profile',
  appleTeamType: 'the team comes from the provisioning profile',
};

const CACHE_FIELDS = new Set(['disabled', 'key', 'paths']);
/** The names EnvVars allows (checked here: the schema's patternProperties alone lets other names through). */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const PLATFORM_SECTIONS = ['android', 'ios', 'web'] as const;
type PlatformSection = (typeof PLATFORM_SECTIONS)[number];

type RawProfile = Record<string, unknown>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function buildSection(easJson: unknown): Record<string, unknown> {
  if (!isPlainObject(easJson)) throw new EasJsonError('EAS_JSON_INVALID', `${EAS_JSON_FILE} must hold a JSON object.`);
  const build = easJson.build;
  if (build === undefined) throw new EasJsonError('EAS_JSON_INVALID', `${EAS_JSON_FILE} has no "build" section, so it defines no build profiles.`);
  if (!isPlainObject(build)) throw new EasJsonError('EAS_JSON_INVALID', `"build" in ${EAS_JSON_FILE} must be an object of build profiles.`);
  return build;
}

function availableProfiles(build: Record<string, unknown>): string {
  const names = Object.keys(build);
  return names.length ? `Available profiles: ${names.join(', ')}.` : 'eas.json defines no build profiles.';
}

/** eas-cli's mergeProfiles: the update's fields win; env and the platform sections merge key by key. */
function mergeProfiles(base: RawProfile, update: RawProfile): RawProfile {
  const result: RawProfile = { ...base, ...update };
  if (isPlainObject(base.env) && isPlainObject(update.env)) result.env = { ...base.env, ...update.env };
  for (const section of PLATFORM_SECTIONS) {
    if (isPlainObject(base[section]) && isPlainObject(update[section])) {
      result[section] = mergeProfiles(base[section], update[section]);
    }
  }
  return result;
}

/** Follows `extends` from `profileName` to the root; returns the merged profile without `extends`. */
function resolveChain(build: Record<string, unknown>, profileName: string): RawProfile {
  const chain: string[] = [];
  let name = profileName;
  const profiles: RawProfile[] = [];
  for (;;) {
    if (chain.includes(name)) {
      throw new EasJsonError('PROFILE_INVALID', `Build profile "${profileName}" has an "extends" cycle: ${[...chain, name].join(' → ')}.`);
    }
    chain.push(name);
    if (chain.length > MAX_EXTENDS_DEPTH) {
      throw new EasJsonError('PROFILE_INVALID', `Build profile "${profileName}" extends too deeply (${chain.join(' → ')}); at most ${MAX_EXTENDS_DEPTH} profiles may be chained.`);
    }
    const profile = Object.hasOwn(build, name) ? build[name] : undefined;
    if (profile === undefined) {
      const child = chain[chain.length - 2]!;
      throw new EasJsonError('PROFILE_INVALID', `Build profile "${child}" extends "${name}", which does not exist. ${availableProfiles(build)}`);
    }
    if (!isPlainObject(profile)) throw new EasJsonError('PROFILE_INVALID', `Build profile "${name}" must be an object.`);
    for (const section of PLATFORM_SECTIONS) {
      if (profile[section] !== undefined && !isPlainObject(profile[section])) {
        throw new EasJsonError('PROFILE_INVALID', `"${section}" in build profile "${name}" must be an object.`);
      }
    }
    profiles.push(profile);
    const parent = profile.extends;
    if (parent === undefined) break;
    if (typeof parent !== 'string' || parent === '') {
      throw new EasJsonError('PROFILE_INVALID', `"extends" in build profile "${name}" must be the name of another profile.`);
    }
    name = parent;
  }
  // Parent first, each child merged over it.
  return profiles.reverse().reduce<RawProfile>((acc, p) => {
    const { extends: _extends, ...rest } = p;
    return mergeProfiles(acc, rest);
  }, {});
}

interface Collected {
  fields: Record<string, unknown>;
  warnings: string[];
  problems: string[];
}

/** Checks one value against its kind; returns the value to keep, or records a problem. */
function checkField(name: string, kind: FieldKind, value: unknown, where: string, out: Collected): unknown {
  const at = `"${name}"${where}`;
  switch (kind.type) {
    case 'string':
      if (typeof value === 'string') return value;
      out.problems.push(`${at} must be a string`);
      return undefined;
    case 'boolean':
      if (typeof value === 'boolean') return value;
      out.problems.push(`${at} must be true or false`);
      return undefined;
    case 'enum':
      if (typeof value === 'string' && kind.values.includes(value)) return value;
      out.problems.push(`${at} must be one of ${kind.values.map((v) => `"${v}"`).join(', ')} (got ${JSON.stringify(value)})`);
      return undefined;
    case 'autoIncrement':
      if (typeof value === 'boolean' || typeof value === 'string') return value;
      out.problems.push(`${at} must be true, false or a version field name`);
      return undefined;
    case 'string[]':
      if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
      out.problems.push(`${at} must be an array of strings`);
      return undefined;
    case 'env': {
      if (!isPlainObject(value)) {
        out.problems.push(`${at} must be an object of strings`);
        return undefined;
      }
      const env: Record<string, string> = {};
      for (const [key, v] of Object.entries(value)) {
        // eas-cli treats a null value as absent.
        if (v === null) continue;
        if (!ENV_NAME.test(key)) out.problems.push(`env name "${key}"${where} is not a valid variable name (letters, digits and _, not starting with a digit)`);
        else if (typeof v !== 'string') out.problems.push(`env.${key}${where} must be a string (got ${JSON.stringify(v)})`);
        else env[key] = v;
      }
      return env;
    }
    case 'cache': {
      if (!isPlainObject(value)) {
        out.problems.push(`${at} must be an object`);
        return undefined;
      }
      const cache: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(value)) {
        if (key === 'customPaths') {
          out.warnings.push(`"cache.customPaths"${where} is deprecated; used as "cache.paths".`);
          cache.paths ??= v;
        } else if (CACHE_FIELDS.has(key)) cache[key] = v;
        else out.warnings.push(`"cache.${key}"${where} is not supported by BuildMesh and is ignored.`);
      }
      return cache;
    }
  }
}

/**
 * Sorts one level's fields (the common level, or a platform section) into the result: known ones
 * checked and kept, deprecated ones mapped, unsupported and unknown ones reported.
 */
function collectLevel(
  raw: RawProfile,
  allowed: Record<string, FieldKind>,
  level: 'common' | PlatformSection,
  out: Collected,
): Record<string, unknown> {
  const where = level === 'common' ? '' : ` in the ${level} section`;
  const kept: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (level === 'common' && (PLATFORM_SECTIONS as readonly string[]).includes(name)) continue;
    const deprecated = DEPRECATED_FIELDS[name];
    if (deprecated) {
      if (deprecated.where === 'platform' && level === 'common') {
        out.warnings.push(`"${name}" is only valid in a platform section (android, ios or web) and is ignored here.`);
        continue;
      }
      const kind = allowed[deprecated.to];
      const shadowed = raw[deprecated.to] !== undefined;
      out.warnings.push(
        `"${name}"${where} is deprecated; use "${deprecated.to}" instead ` +
          (shadowed ? `("${deprecated.to}" is set too, and wins).` : `(its value is used as "${deprecated.to}").`),
      );
      if (kind && !shadowed) {
        const checked = checkField(name, kind, value, where, out);
        if (checked !== undefined) kept[deprecated.to] = checked;
      }
      continue;
    }
    const kind = allowed[name];
    if (kind) {
      if (value === null || value === undefined) continue;
      const checked = checkField(name, kind, value, where, out);
      if (checked !== undefined) kept[name] = checked;
      continue;
    }
    if (Object.hasOwn(UNSUPPORTED_FIELDS, name)) {
      out.warnings.push(`"${name}"${where} is not supported by BuildMesh and is ignored: ${UNSUPPORTED_FIELDS[name]}.`);
    } else if (Object.hasOwn(PLATFORM_FIELDS, name) || Object.hasOwn(ANDROID_FIELDS, name) || Object.hasOwn(IOS_FIELDS, name) || Object.hasOwn(WEB_FIELDS, name)) {
      const home = Object.hasOwn(ANDROID_FIELDS, name)
        ? 'the android section'
        : Object.hasOwn(IOS_FIELDS, name)
          ? 'the ios section'
          : Object.hasOwn(WEB_FIELDS, name)
            ? 'the web section'
            : 'a platform section (android, ios or web)';
      out.warnings.push(`"${name}"${where} belongs in ${home} and is ignored here.`);
    } else {
      out.warnings.push(`Unknown field "${name}"${where} is ignored.`);
    }
  }
  return kept;
}

const FIELDS_FOR: Record<PlatformSection, Record<string, FieldKind>> = {
  android: { ...COMMON_FIELDS, ...PLATFORM_FIELDS, ...ANDROID_FIELDS },
  ios: { ...COMMON_FIELDS, ...PLATFORM_FIELDS, ...IOS_FIELDS },
  web: { ...COMMON_FIELDS, ...PLATFORM_FIELDS, ...WEB_FIELDS },
};

/**
 * Resolves `profileName` from a parsed eas.json for `platform`. Throws EasJsonError:
 * EAS_JSON_INVALID (not an object, no "build" section), PROFILE_NOT_FOUND (lists the available
 * profiles), PROFILE_INVALID (a field of the wrong type, a broken `extends` chain).
 */
export function resolveBuildProfile(
  easJson: unknown,
  profileName: string,
  platform: Platform,
): { profile: ResolvedProfile; warnings: string[] } {
  const build = buildSection(easJson);
  if (!Object.hasOwn(build, profileName)) {
    throw new EasJsonError('PROFILE_NOT_FOUND', `There is no build profile "${profileName}" in ${EAS_JSON_FILE}. ${availableProfiles(build)}`);
  }
  const merged = resolveChain(build, profileName);
  const out: Collected = { fields: {}, warnings: [], problems: [] };

  const common = collectLevel(merged, COMMON_FIELDS, 'common', out);
  let fields = common;
  {
    const section = isPlainObject(merged[platform]) ? merged[platform] : {};
    const specific = collectLevel(section, FIELDS_FOR[platform], platform, out);
    fields = { ...common, ...specific };
    if (isPlainObject(common.env) && isPlainObject(specific.env)) fields.env = { ...common.env, ...specific.env };
  }

  if (out.problems.length > 0) {
    throw new EasJsonError('PROFILE_INVALID', `Build profile "${profileName}" is invalid: ${out.problems.join('; ')}.`);
  }
  const profile = { ...fields, name: profileName, env: (fields.env as Record<string, string> | undefined) ?? {} };
  // eas.json's cli.appVersionSource decides where autoIncrement's build version lives.
  const cliSection = isPlainObject(easJson) && isPlainObject(easJson.cli) ? easJson.cli : {};
  const source = cliSection.appVersionSource;
  if (source === 'remote' || source === 'local') (profile as Record<string, unknown>).appVersionSource = source;
  else if (source !== undefined) out.problems.push(`"cli.appVersionSource" must be "local" or "remote" (got ${JSON.stringify(source)})`);
  if (fields.autoIncrement && source !== 'remote' && platform !== 'web') {
    out.warnings.push('"autoIncrement" is applied with "cli.appVersionSource": "remote" only (the controller keeps the version); with a local source, raise the version in app.json yourself.');
  }
  if (out.problems.length > 0) {
    throw new EasJsonError('PROFILE_INVALID', `Build profile "${profileName}" is invalid: ${out.problems.join('; ')}.`);
  }
  // eas-cli's prepareJob: an internal-distribution Android build without buildType or gradleCommand
  // is an installable apk, not an aab testers cannot install.
  if (platform === 'android' && fields.distribution === 'internal' && fields.buildType === undefined && fields.gradleCommand === undefined) {
    (profile as Record<string, unknown>).buildType = 'apk';
  }
  if (!Value.Check(ResolvedProfile, profile)) {
    const errors = Value.Errors(ResolvedProfile, profile)
      .slice(0, 5)
      .map((e) => `${e.instancePath || '/'} ${e.message}`);
    throw new EasJsonError('PROFILE_INVALID', `Build profile "${profileName}" is invalid: ${errors.join('; ')}.`);
  }
  return { profile, warnings: [...new Set(out.warnings)] };
}

/**
 * The worker labels a build needs because of its profile's `image`. EAS picks a VM image by this
 * field; BuildMesh picks a worker, so the image becomes a label the worker must advertise:
 *
 * | image                                      | required label        |
 * |--------------------------------------------|-----------------------|
 * | absent, `auto`, `latest`, `default`        | none (any worker)     |
 * | iOS, a name containing `xcode-<version>`   | `xcode=<version>`     |
 * |   e.g. `macos-sequoia-15.6-xcode-26.0`     | `xcode=26.0`          |
 * | anything else (`sdk-57`, `ubuntu-24.04-…`) | `image=<image>`       |
 *
 * A worker offers `image=<value>` only when its operator labels it so (e.g. a Linux box set up
 * like EAS's `sdk-57` image); the Xcode label is detected from the worker's Xcode.
 */
export function labelsForProfile(profile: Pick<ResolvedProfile, 'image'>, platform: Platform): Labels {
  const image = profile.image?.trim();
  if (!image || ['auto', 'latest', 'default'].includes(image)) return {};
  if (platform === 'ios') {
    const xcode = /(?:^|-)xcode-(\d+(?:\.\d+)*)(?:$|-)/.exec(image);
    if (xcode) return { xcode: xcode[1]! };
  }
  return { image };
}
