/**
 * The environment a build's commands see, as on EAS Build: app configs (app.config.js) and
 * scripts look at EAS_BUILD, EAS_BUILD_PROFILE and EAS_BUILD_PLATFORM to pick their settings.
 *
 * Precedence, lowest first: CI=1 and LANG=en_US.UTF-8, the profile's `env` (eas.json), the env given with the build
 * submission, the project's secrets, then the build's identity below, which cannot be overridden.
 * The runner computes it once per attempt and pipelines add to it (context.ts). NODE_ENV is
 * deliberately not set: Expo's tools choose it per command. EAS_BUILD_PROJECT_ID is the project's
 * name (BuildMesh's project id); EAS_BUILD_USERNAME is who submitted the build (the API token's name).
 * EAS_BUILD_APP_BUILD_VERSION is the build version (versionCode / buildNumber) when the controller
 * assigned one (remote app versions); EAS_BUILD_APP_VERSION is not set: the user-facing version
 * lives in the app config, which the worker does not evaluate.
 */
import type { BuildJob } from '@buildmesh/protocol';

/** `projectDir` is the unpacked source's root (a monorepo's repository root, as on EAS), which EAS_BUILD_WORKINGDIR names. */
export function buildEnv(input: { job: BuildJob; projectDir: string; secrets: Record<string, string> }): Record<string, string> {
  const { build } = input.job;
  return {
    CI: '1',
    LANG: 'en_US.UTF-8',
    ...build.profile.env,
    ...build.env,
    ...input.secrets,
    EAS_BUILD: 'true',
    EAS_BUILD_RUNNER: 'buildmesh',
    EAS_BUILD_ID: build.id,
    EAS_BUILD_PLATFORM: build.platform,
    EAS_BUILD_PROFILE: build.profileName,
    EAS_BUILD_WORKINGDIR: input.projectDir,
    EAS_BUILD_PROJECT_ID: build.project,
    ...(build.submittedBy ? { EAS_BUILD_USERNAME: build.submittedBy } : {}),
    ...(build.gitCommit ? { EAS_BUILD_GIT_COMMIT_HASH: build.gitCommit } : {}),
    ...(build.profile.appBuildVersion !== undefined ? { EAS_BUILD_APP_BUILD_VERSION: String(build.profile.appBuildVersion) } : {}),
    BUILDMESH_BUILD_ID: build.id,
    BUILDMESH_ATTEMPT: String(input.job.attempt.number),
  };
}
