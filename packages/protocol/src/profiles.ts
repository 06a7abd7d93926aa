/**
 * A build profile resolved from the project's eas.json for one platform: the
 * `extends` chain applied and the platform section merged over the common
 * fields. The CLI resolves it (and refuses a bad profile before uploading); the
 * controller stores it with the build; the worker's pipeline runs from it.
 * Resolution from eas.json is the CLI's (packages/cli/src/eas-json.ts): only it reads eas.json.
 */
import { Type, type Static } from 'typebox';
import { EnvVars } from './common.js';
import { NulFreeText } from './env-names.js';

/** The project file build profiles come from (the worker names it in logs). */
export const EAS_JSON_FILE = 'eas.json';

/** Profile text: anything but NUL (PostgreSQL text cannot hold it). */
const Str = (max = 1024) => NulFreeText(max);

/**
 * An EAS environment name (eas.json `environment`): `development`, `preview`, `production` or a
 * custom one. It chooses which project secrets a build gets (those scoped to it, plus the unscoped).
 */
export const EnvironmentName = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' });

export const CacheConfig = Type.Object({
  disabled: Type.Optional(Type.Boolean()),
  key: Type.Optional(Str(128)),
  paths: Type.Optional(Type.Array(Str(), { maxItems: 64 })),
});

export const ResolvedProfile = Type.Object(
  {
    /** The profile name the build was submitted with. */
    name: Str(128),
    env: EnvVars,
    node: Type.Optional(Str(64)),
    corepack: Type.Optional(Type.Boolean()),
    yarn: Type.Optional(Str(64)),
    pnpm: Type.Optional(Str(64)),
    bun: Type.Optional(Str(64)),
    credentialsSource: Type.Optional(Type.Union([Type.Literal('local'), Type.Literal('remote')])),
    withoutCredentials: Type.Optional(Type.Boolean()),
    distribution: Type.Optional(Type.Union([Type.Literal('store'), Type.Literal('internal')])),
    channel: Type.Optional(Str(128)),
    /** EAS environment: the build also gets the project secrets scoped to it (default: unscoped ones only). */
    environment: Type.Optional(EnvironmentName),
    developmentClient: Type.Optional(Type.Boolean()),
    prebuildCommand: Type.Optional(Str()),
    autoIncrement: Type.Optional(Type.Union([Type.Boolean(), Str(32)])),
    buildArtifactPaths: Type.Optional(Type.Array(Str(), { maxItems: 64 })),
    applicationArchivePath: Type.Optional(Str()),
    cache: Type.Optional(CacheConfig),
    /** Custom build config: `.eas/build/<config>`. */
    config: Type.Optional(Str(256)),
    resourceClass: Type.Optional(Str(64)),
    /** EAS picks a VM image; here it becomes a required worker label (`image=<value>`), see labelsForProfile. */
    image: Type.Optional(Str(128)),
    // android
    buildType: Type.Optional(Type.Union([Type.Literal('apk'), Type.Literal('app-bundle')])),
    gradleCommand: Type.Optional(Str()),
    ndk: Type.Optional(Str(64)),
    keystoreName: Type.Optional(Str(128)),
    // ios
    simulator: Type.Optional(Type.Boolean()),
    scheme: Type.Optional(Str(256)),
    buildConfiguration: Type.Optional(Str(128)),
    enterpriseProvisioning: Type.Optional(Type.Union([Type.Literal('adhoc'), Type.Literal('universal')])),
    cocoapods: Type.Optional(Str(64)),
    fastlane: Type.Optional(Str(64)),
    bundler: Type.Optional(Str(64)),
    /** eas.json `cli.appVersionSource`, copied into the profile by the CLI; default local. */
    appVersionSource: Type.Optional(Type.Union([Type.Literal('local'), Type.Literal('remote')])),
    /**
     * Set by the controller, never by a client: the build version it assigned (remote source with
     * autoIncrement), which the worker writes into the native project (versionCode / CFBundleVersion).
     */
    appBuildVersion: Type.Optional(Type.Integer({ minimum: 1 })),
    // web (BuildMesh's own section)
    /** Where `expo export` writes (relative to the project); default dist. */
    outputDir: Type.Optional(Str(256)),
  },
  { additionalProperties: false },
);
export type ResolvedProfile = Static<typeof ResolvedProfile>;
