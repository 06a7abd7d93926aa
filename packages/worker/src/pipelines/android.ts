/**
 * The Android pipeline, in the order of EAS's builders/android.ts: setup and install, FIX_GRADLEW
 * when android/ was committed, else PREBUILD; the post-install hook; PREPARE_CREDENTIALS (keystore
 * injected into the release signing config); RUN_GRADLEW with the task the profile asks for;
 * then the completion hooks. The runner collects the apk/aab by the returned globs.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import type { ResolvedProfile } from '@buildmesh/protocol';
import type { Phase } from '../runner/plan.js';
import { chmodInside, readFileInside, writeFileInside } from '../workspace/inside.js';
import { GRADLE_FAILURES } from './classify.js';
import {
  completionHookPhases, hasNativeProject, postInstallHookPhase, prebuildPhase, preUploadArtifactsHookPhase, setupPhases,
} from './common.js';
import type { PipelinePlan, PlanContext } from './context.js';
import { CREDENTIALS_ENV, injectAndroidKeystore, keystorePaths, resolveAndroidKeystore } from './android-credentials.js';
import { PipelineError } from './pipeline-error.js';

export const DEFAULT_ANDROID_ARCHIVE_GLOB = 'android/app/build/outputs/**/*.{apk,aab}';

/**
 * EAS's resolveGradleCommand: the profile's command, else by developmentClient and buildType. A
 * profile without buildType and gradleCommand but with `distribution: internal` builds an apk, as
 * eas-cli's prepareJob decides (resolveBuildProfile already does so for profiles the CLI resolves;
 * this covers profiles stored by older CLIs).
 */
export function resolveGradleTask(profile: ResolvedProfile): string {
  if (profile.gradleCommand) return profile.gradleCommand;
  if (profile.developmentClient) return ':app:assembleDebug';
  const buildType = profile.buildType ?? (profile.distribution === 'internal' ? 'apk' : 'app-bundle');
  if (buildType === 'apk') return ':app:assembleRelease';
  return ':app:bundleRelease';
}

/** Where RUN_GRADLEW's init script is written, below the attempt's workspace (outside the project). */
export const GRADLE_INIT_FILE = 'gradle/buildmesh-init.gradle';

/**
 * The init script EAS's images carry: every project, and every build script, resolves from the
 * standard repositories (Google's Maven, Maven Central) even when its own build files forget them.
 */
export const GRADLE_INIT_SCRIPT = `// Written by BuildMesh for this build, like EAS's init.gradle: the standard repositories for every project.
allprojects {
    buildscript {
        repositories {
            google()
            mavenCentral()
        }
    }
    repositories {
        google()
        mavenCentral()
    }
}
`;

/**
 * GRADLE_OPTS as EAS sets it: a JVM heap of about a quarter of the machine's memory, a 1 GiB
 * metaspace, parallel project execution and no daemon (a daemon would outlive the step).
 */
export function gradleOpts(totalMemBytes: number): string {
  const heapMb = Math.max(1024, Math.floor(totalMemBytes / 4 / 1024 / 1024));
  return (
    `-Dorg.gradle.jvmargs="-Xmx${heapMb}m -XX:MaxMetaspaceSize=1g -XX:+HeapDumpOnOutOfMemoryError -Dfile.encoding=UTF-8"` +
    ' -Dorg.gradle.parallel=true -Dorg.gradle.daemon=false'
  );
}

/** A gradlew committed from Windows has CRLF line ends (bash then fails on `\r`) and may have lost its exec bit. */
function fixGradlewPhase(ctx: PlanContext): Phase | null {
  const gradlew = join(ctx.projectDir, 'android', 'gradlew');
  if (!hasNativeProject(ctx.projectDir, 'android') || !existsSync(gradlew)) return null;
  return {
    name: 'FIX_GRADLEW',
    steps: [
      {
        kind: 'task',
        describe: 'convert android/gradlew line ends to LF and make it executable',
        run: async ({ log }) => {
          // The install's scripts ran before: gradlew may now be a symlink to a host file; never followed.
          const text = await readFileInside(ctx.projectDir, gradlew);
          if (text.includes('\r\n')) {
            await writeFileInside(ctx.projectDir, gradlew, text.replace(/\r\n/g, '\n'));
            log('Converted CRLF line endings in android/gradlew to LF.');
          }
          await chmodInside(ctx.projectDir, gradlew, 0o755);
        },
      },
    ],
  };
}

/** The Gradle file older eas-cli versions generated; it reads $EAS_BUILD_WORKINGDIR/credentials.json (EAS's nested format). */
export const LEGACY_GRADLE_FILE = 'eas-build.gradle';

/**
 * Where a legacy android/app/eas-build.gradle looks for the credentials: the project's
 * credentials.json. Null when the project has no such file, or has its own credentials.json
 * (credentialsSource local), which is then used as it is.
 */
function legacyCredentialsJson(ctx: PlanContext): string | null {
  if (!existsSync(join(ctx.projectDir, 'android', 'app', LEGACY_GRADLE_FILE))) return null;
  // $EAS_BUILD_WORKINGDIR is the source root: a monorepo's repository root, above the app.
  const path = join(ctx.repoDir, 'credentials.json');
  return existsSync(path) || existsSync(join(ctx.projectDir, 'credentials.json')) ? null : path;
}

/** The credentials.json written for a legacy eas-build.gradle holds passwords: it is removed however the build ends. */
function removeLegacyCredentialsPhase(ctx: PlanContext): Phase | null {
  const path = legacyCredentialsJson(ctx);
  if (!path) return null;
  return {
    name: 'REMOVE_LEGACY_CREDENTIALS',
    always: 'always',
    steps: [{ kind: 'task', describe: 'remove the credentials.json written for android/app/eas-build.gradle', run: () => rm(path, { force: true }) }],
  };
}

async function prepareCredentialsPhase(ctx: PlanContext): Promise<Phase> {
  const keystore = await resolveAndroidKeystore(ctx.profile, ctx.input.credentials, ctx.projectDir);
  if (!keystore) {
    const why = ctx.profile.withoutCredentials ? 'the profile says withoutCredentials' : 'the build has no Android credentials';
    return {
      name: 'PREPARE_CREDENTIALS',
      steps: [
        {
          kind: 'task',
          describe: 'no keystore to inject',
          run: async ({ log }) => log(`No keystore injected (${why}); the app is signed as android/app/build.gradle configures it.`),
        },
      ],
    };
  }
  const paths = keystorePaths(ctx.workspaceRoot, ctx.newId());
  ctx.env[CREDENTIALS_ENV] = paths.jsonPath;
  const legacy = legacyCredentialsJson(ctx);
  ctx.redact.push(keystore.keystorePassword, ...(keystore.keyPassword ? [keystore.keyPassword] : []));
  return {
    name: 'PREPARE_CREDENTIALS',
    steps: [
      {
        kind: 'task',
        describe: `write the keystore to ${paths.keystorePath}, its credentials JSON, and apply android/app/eas-build-inject-android-credentials.gradle`,
        run: async ({ log }) => {
          try {
            await injectAndroidKeystore(keystore, paths, ctx.projectDir, log);
            if (legacy) {
              const json = { android: { keystore: { keystorePath: paths.keystorePath, keystorePassword: keystore.keystorePassword, keyAlias: keystore.keyAlias, ...(keystore.keyPassword ? { keyPassword: keystore.keyPassword } : {}) } } };
              await writeFile(legacy, `${JSON.stringify(json, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
              log(`android/app/${LEGACY_GRADLE_FILE} reads credentials.json from the project: wrote it (removed when the build ends).`);
            }
          } catch (err) {
            if (err instanceof PipelineError) throw err;
            throw new PipelineError('GRADLE_BUILD_FAILED', (err as Error).message);
          }
        },
      },
    ],
  };
}

export async function planAndroid(ctx: PlanContext): Promise<PipelinePlan> {
  const task = resolveGradleTask(ctx.profile);
  // Decided before PREPARE_CREDENTIALS writes the file.
  const removeLegacyCredentials = removeLegacyCredentialsPhase(ctx);
  const initScript = join(ctx.workspaceRoot, GRADLE_INIT_FILE);
  const phases: (Phase | null)[] = [
    ...setupPhases(ctx),
    fixGradlewPhase(ctx),
    prebuildPhase(ctx, 'android'),
    postInstallHookPhase(ctx),
    await prepareCredentialsPhase(ctx),
    {
      name: 'RUN_GRADLEW',
      steps: [
        {
          kind: 'task',
          describe: `write the Gradle init script (standard repositories) to ${initScript}`,
          run: async () => {
            await mkdir(dirname(initScript), { recursive: true });
            // A second eas/build of a custom build finds gradle/ owned by the build user: never follow a link there.
            await writeFileInside(ctx.workspaceRoot, initScript, GRADLE_INIT_SCRIPT);
          },
        },
        {
          kind: 'command',
          command: {
            // `--profile` as EAS passes it: Gradle writes a per-task timing report under android/build/reports/profile.
            argv: ['bash', '-c', `./gradlew ${task} --profile --init-script "$BUILDMESH_GRADLE_INIT"`],
            cwd: 'android',
            env: {
              LC_ALL: 'C.UTF-8',
              GRADLE_OPTS: ctx.env.GRADLE_OPTS ?? gradleOpts(ctx.input.totalMemBytes ?? totalmem()),
              BUILDMESH_GRADLE_INIT: initScript,
            },
          },
        },
      ],
      // Gradle resolves plugins and dependencies from Maven repositories.
      network: true,
      classify: GRADLE_FAILURES,
    },
    removeLegacyCredentials,
    preUploadArtifactsHookPhase(ctx),
    ...completionHookPhases(ctx),
  ];
  return {
    phases: phases.filter((p): p is Phase => p !== null),
    env: ctx.env,
    artifacts: {
      applicationArchive: [ctx.profile.applicationArchivePath ?? DEFAULT_ANDROID_ARCHIVE_GLOB],
      buildArtifacts: ctx.profile.buildArtifactPaths ?? [],
    },
    redact: ctx.redact,
  };
}
