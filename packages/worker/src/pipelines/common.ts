/**
 * The phases every platform shares, in EAS's order (build-tools' common/setup.ts, prebuild.ts and
 * utils/hooks.ts): the pre-install hook, eas.json and package.json logged verbatim, dependencies
 * installed with the project's package manager, `expo prebuild` when the native folder is absent,
 * the post-install hook, and the on-success / on-error / on-complete hooks at the end.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EAS_JSON_FILE } from '@buildmesh/protocol';
import type { Command, Phase } from '../runner/plan.js';
import type { IdleLimits } from '../sandbox/executor.js';
import { readFileInside, writeFileInside } from '../workspace/inside.js';
import { HOOK_FAILURES, INSTALL_FAILURES, PREBUILD_FAILURES } from './classify.js';
import type { PlanContext } from './context.js';
import { hasScript, SECRET_FILES_DIR } from './context.js';
import { installCommand, runScriptCommand, shouldUseFrozenLockfile } from './package-manager.js';

/** Wall-clock limit of PREBUILD (prebuild and its re-install). */
export const INSTALL_TIMEOUT_MS = 30 * 60 * 1000;

/**
 * As EAS: dependency install and `pod install` are stopped after 30 minutes without output (a
 * warning after 15), however long they run while they keep printing.
 */
export const INSTALL_IDLE_TIMEOUT: IdleLimits = { warnAfterMs: 15 * 60 * 1000, killAfterMs: 30 * 60 * 1000 };

export const HOOKS = {
  preInstall: 'eas-build-pre-install',
  postInstall: 'eas-build-post-install',
  onSuccess: 'eas-build-on-success',
  onError: 'eas-build-on-error',
  onComplete: 'eas-build-on-complete',
  preUploadArtifacts: 'eas-build-pre-upload-artifacts',
} as const;

/** A phase running `<pm> run <hook>`, or null when package.json does not define the hook. */
function hookPhase(ctx: PlanContext, name: string, hook: string, always?: Phase['always'], env?: Record<string, string>): Phase | null {
  if (!hasScript(ctx, hook)) return null;
  return {
    name,
    steps: [{ kind: 'command', command: { argv: runScriptCommand(ctx.pm, hook), ...(env ? { env } : {}) } }],
    // Hooks are the project's own scripts; EAS gives them the network (they often fetch or notify).
    network: true,
    ...(always ? { always } : {}),
    classify: HOOK_FAILURES,
  };
}

function logVerbatim(text: string, log: (line: string) => void): void {
  for (const line of text.replace(/\n$/, '').split('\n')) log(line);
}

/** Fields of the profile this worker does not act on while building, said once in the log. */
function ignoredProfileFields(ctx: PlanContext): string[] {
  const p = ctx.profile;
  const notes: string[] = [];
  // node, yarn, pnpm, bun, corepack and cache are applied by the worker (../cache: SET_UP_TOOLCHAINS, RESTORE_CACHE, SAVE_CACHE).
  const why: Partial<Record<keyof typeof p, string>> = {
    resourceClass: 'a worker runs the build with the resources it has',
    autoIncrement: 'version numbers are not changed',
    channel: 'the update channel is not written into the native project; set it in app config',
  };
  for (const [field, reason] of Object.entries(why)) {
    if (p[field as keyof typeof p] !== undefined) notes.push(`"${field}" is not applied by BuildMesh workers: ${reason}.`);
  }
  return notes;
}

/** The `.npmrc` EAS writes when the build has NPM_TOKEN: npm expands `${NPM_TOKEN}` itself, so the token is not written to disk. */
export function npmrcForToken(env: Record<string, string>): string {
  // The registry the build is configured with (NPM_CONFIG_REGISTRY in the profile env), else npm's own.
  let registry = 'registry.npmjs.org/';
  const configured = env.NPM_CONFIG_REGISTRY ?? env.npm_config_registry;
  if (configured) {
    try {
      const url = new URL(configured);
      registry = `${url.host}${url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`}`;
    } catch {
      // not a URL: npm will refuse it itself; keep the default registry's line
    }
  }
  return `//${registry}:_authToken=\${NPM_TOKEN}\n`;
}

/**
 * PREPARE_NPMRC (part of EAS's PREPARE_PROJECT, which here is the runner's download phase): with
 * NPM_TOKEN set (a secret or env) and no `.npmrc` in the project, write one that authenticates to the registry with it, as EAS does; a committed `.npmrc` is left alone.
 */
function prepareProjectPhase(ctx: PlanContext): Phase | null {
  if (!ctx.env.NPM_TOKEN) return null;
  // Written where dependencies are installed (a monorepo's workspace root), unless the app or that folder has one.
  const npmrc = join(ctx.installDir, '.npmrc');
  if (existsSync(npmrc) || existsSync(join(ctx.projectDir, '.npmrc'))) return null;
  return {
    name: 'PREPARE_NPMRC',
    steps: [
      {
        kind: 'task',
        describe: 'write .npmrc authenticating to the registry with $NPM_TOKEN (the project has none)',
        run: async ({ log }) => {
          await writeFile(npmrc, npmrcForToken(ctx.env), { flag: 'wx', mode: 0o600 });
          log('NPM_TOKEN is set and the project has no .npmrc: wrote one that reads the token from $NPM_TOKEN.');
        },
      },
    ],
  };
}

/** PREPARE_SECRET_FILES: each file secret written (0600, in a 0700 folder of the workspace) where its variable points. */
function prepareSecretFilesPhase(ctx: PlanContext): Phase | null {
  if (ctx.secretFiles.length === 0) return null;
  const dir = join(ctx.workspaceRoot, SECRET_FILES_DIR);
  return {
    name: 'PREPARE_SECRET_FILES',
    steps: [
      {
        kind: 'task',
        describe: `write the file secrets (${ctx.secretFiles.map((f) => f.name).join(', ')}) to ${dir}`,
        run: async ({ log }) => {
          await mkdir(dir, { recursive: true, mode: 0o700 });
          for (const file of ctx.secretFiles) {
            // Never through a link: a folder left by an earlier eas/build of a custom build is the build user's.
            await writeFileInside(ctx.workspaceRoot, file.path, Buffer.from(file.contentBase64, 'base64'), { mode: 0o600 });
            log(`File secret ${file.name}: $${file.name} is the path of its file.`);
          }
        },
      },
    ],
  };
}

/** REMOVE_SECRET_FILES: the file secrets are deleted when the build ends, whatever its outcome. */
function removeSecretFilesPhase(ctx: PlanContext): Phase | null {
  if (ctx.secretFiles.length === 0) return null;
  const dir = join(ctx.workspaceRoot, SECRET_FILES_DIR);
  return {
    name: 'REMOVE_SECRET_FILES',
    always: 'always',
    steps: [{ kind: 'task', describe: `remove ${dir}`, run: () => rm(dir, { recursive: true, force: true }) }],
  };
}

/**
 * Whether the platform's native project was committed, as EAS decides it: android/app/build.gradle
 * (or .kts), or an .xcodeproj with its project.pbxproj in ios/. A stray folder (a README, a
 * google-services file) does not make a project bare, so prebuild still runs.
 */
export function hasNativeProject(projectDir: string, nativeDir: 'android' | 'ios'): boolean {
  if (nativeDir === 'android') {
    return ['build.gradle', 'build.gradle.kts'].some((f) => existsSync(join(projectDir, 'android', 'app', f)));
  }
  const ios = join(projectDir, 'ios');
  try {
    return readdirSync(ios).some((e) => e.endsWith('.xcodeproj') && existsSync(join(ios, e, 'project.pbxproj')));
  } catch {
    return false;
  }
}

/** A monorepo installs at its workspace root (the runner resolves cwd from the app's folder, inside the source). */
function installCwd(ctx: PlanContext): { cwd?: string } {
  return ctx.installCwd ? { cwd: ctx.installCwd } : {};
}

export function setupPhases(ctx: PlanContext): Phase[] {
  const frozen = shouldUseFrozenLockfile(ctx.pm, ctx.packageJson, ctx.env);
  const pmLine =
    `Using ${ctx.pm.name}${ctx.pm.yarnFlavor ? ` (${ctx.pm.yarnFlavor})` : ''}` +
    (ctx.pm.lockfile ? `, from ${ctx.pm.lockfile}` : '') +
    `${frozen ? ', with a frozen lockfile' : ''}` +
    (ctx.installCwd ? `, installing at the workspace root (${ctx.installCwd} from the app)` : '') +
    '.';
  const phases: (Phase | null)[] = [
    prepareSecretFilesPhase(ctx),
    prepareProjectPhase(ctx),
    hookPhase(ctx, 'PRE_INSTALL_HOOK', HOOKS.preInstall),
    {
      name: 'READ_EAS_JSON',
      steps: [
        {
          kind: 'task',
          describe: `log ${EAS_JSON_FILE} and the resolved build profile`,
          run: async ({ log }) => {
            const path = join(ctx.projectDir, EAS_JSON_FILE);
            if (existsSync(path)) {
              log(`Using ${EAS_JSON_FILE}:`);
              // PRE_INSTALL_HOOK ran the build's code: eas.json may now be a symlink to a host file.
              logVerbatim(await readFileInside(ctx.projectDir, path), log);
            } else {
              log(`The project has no ${EAS_JSON_FILE}; building from the profile submitted with the build.`);
            }
            log(`Build profile "${ctx.profile.name}" for ${ctx.platform}, as resolved when the build was submitted:`);
            logVerbatim(JSON.stringify({ ...ctx.profile, env: Object.keys(ctx.profile.env) }, null, 2), log);
            for (const note of ignoredProfileFields(ctx)) log(`Warning: ${note}`);
          },
        },
      ],
    },
    {
      name: 'READ_PACKAGE_JSON',
      steps: [
        {
          kind: 'task',
          describe: 'log package.json and the package manager',
          run: async ({ log }) => {
            log('Using package.json:');
            logVerbatim(ctx.packageJsonText, log);
            log(pmLine);
            for (const warning of ctx.pm.warnings) log(`Warning: ${warning}`);
          },
        },
      ],
    },
    {
      name: 'INSTALL_DEPENDENCIES',
      steps: [{ kind: 'command', command: { argv: installCommand(ctx.pm, frozen), ...installCwd(ctx) } }],
      network: true,
      idleTimeout: INSTALL_IDLE_TIMEOUT,
      classify: INSTALL_FAILURES,
    },
  ];
  return phases.filter((p): p is Phase => p !== null);
}

/** Expo-CLI spellings EAS strips from `prebuildCommand` before running it as `expo <args>`. */
const EXPO_PREFIXES = /^(?:npx\s+)?(?:expo-cli\s+|expo\s+)?/;

/**
 * The prebuild command line. The profile's `prebuildCommand` is taken as EAS takes it: an Expo
 * CLI command (`prebuild --template x`, `expo prebuild …`, `npx expo prebuild …`) runs as
 * `npx expo …` with `--platform` added when missing; anything else runs as the shell command it is.
 */
export function prebuildCommand(ctx: PlanContext): Command {
  const env = { EXPO_IMAGE_UTILS_NO_SHARP: '1' };
  const custom = ctx.profile.prebuildCommand?.trim();
  if (!custom) {
    return { argv: ['npx', 'expo', 'prebuild', '--no-install', '--platform', ctx.platform], env };
  }
  const expoArgs = custom.replace(EXPO_PREFIXES, '');
  let script = custom;
  if (/^prebuild\b/.test(expoArgs)) {
    const withPlatform = /(?:--platform|\s-p)\b/.test(expoArgs) ? expoArgs : `${expoArgs} --platform ${ctx.platform}`;
    script = `npx expo ${withPlatform}`;
  }
  return { argv: ['bash', '-c', script], env };
}

/**
 * PREBUILD, only when the platform's native folder was not committed (EAS's "generic" projects
 * skip it), then a non-frozen re-install as EAS does: prebuild may change package.json.
 */
export function prebuildPhase(ctx: PlanContext, nativeDir: 'android' | 'ios'): Phase | null {
  if (hasNativeProject(ctx.projectDir, nativeDir)) return null;
  return {
    name: 'PREBUILD',
    steps: [
      { kind: 'command', command: prebuildCommand(ctx) },
      { kind: 'command', command: { argv: installCommand(ctx.pm, false), ...installCwd(ctx) } },
    ],
    // `expo prebuild` downloads its template from npm; the re-install needs the registry too.
    network: true,
    timeoutMs: INSTALL_TIMEOUT_MS,
    classify: PREBUILD_FAILURES,
  };
}

export function postInstallHookPhase(ctx: PlanContext): Phase | null {
  return hookPhase(ctx, 'POST_INSTALL_HOOK', HOOKS.postInstall);
}

/** After the build step, before the runner collects the artifacts (EAS's PRE_UPLOAD_ARTIFACTS_HOOK). */
export function preUploadArtifactsHookPhase(ctx: PlanContext): Phase | null {
  return hookPhase(ctx, 'PRE_UPLOAD_ARTIFACTS_HOOK', HOOKS.preUploadArtifacts);
}

/**
 * The hooks that end a build: on-success after success, on-error after a failure, then on-complete
 * with EAS_BUILD_STATUS as EAS sets it (`finished` or `errored`); it is planned once for each
 * outcome and only the matching one runs. Then the file secrets are removed.
 */
export function completionHookPhases(ctx: PlanContext): Phase[] {
  return [
    hookPhase(ctx, 'ON_BUILD_SUCCESS_HOOK', HOOKS.onSuccess, 'on-success'),
    hookPhase(ctx, 'ON_BUILD_ERROR_HOOK', HOOKS.onError, 'on-failure'),
    hookPhase(ctx, 'ON_BUILD_COMPLETE_HOOK', HOOKS.onComplete, 'on-success', { EAS_BUILD_STATUS: 'finished' }),
    hookPhase(ctx, 'ON_BUILD_COMPLETE_HOOK', HOOKS.onComplete, 'on-failure', { EAS_BUILD_STATUS: 'errored' }),
    removeSecretFilesPhase(ctx),
  ].filter((p): p is Phase => p !== null);
}
