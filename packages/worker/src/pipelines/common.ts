/**
 * The phases every platform shares, in EAS's order (build-tools' common/setup.ts, prebuild.ts and
 * utils/hooks.ts): the pre-install hook, eas.json and package.json logged verbatim, dependencies
 * installed with the project's package manager, `expo prebuild` when the native folder is absent,
 * the post-install hook, and the on-success / on-error / on-complete hooks at the end.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EAS_JSON_FILE } from '@buildmesh/protocol';
import type { Command, Phase } from '../runner/plan.js';
import { HOOK_FAILURES, INSTALL_FAILURES, PREBUILD_FAILURES } from './classify.js';
import type { PlanContext } from './context.js';
import { hasScript } from './context.js';
import { installCommand, runScriptCommand, shouldUseFrozenLockfile } from './package-manager.js';

/** EAS kills an install that runs this long (it warns at 15 minutes). */
export const INSTALL_TIMEOUT_MS = 30 * 60 * 1000;

export const HOOKS = {
  preInstall: 'eas-build-pre-install',
  postInstall: 'eas-build-post-install',
  onSuccess: 'eas-build-on-success',
  onError: 'eas-build-on-error',
  onComplete: 'eas-build-on-complete',
} as const;

/** A phase running `<pm> run <hook>`, or null when package.json does not define the hook. */
function hookPhase(ctx: PlanContext, name: string, hook: string, always?: Phase['always']): Phase | null {
  if (!hasScript(ctx, hook)) return null;
  return {
    name,
    steps: [{ kind: 'command', command: { argv: runScriptCommand(ctx.pm, hook) } }],
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
  const nodeMajor = process.versions.node.split('.')[0];
  if (p.node && p.node.replace(/^v/, '').split('.')[0] !== nodeMajor) {
    notes.push(`The profile asks for Node.js ${p.node}; this worker runs Node.js ${process.versions.node}.`);
  }
  const why: Partial<Record<keyof typeof p, string>> = {
    yarn: "the worker's installed yarn is used",
    pnpm: "the worker's installed pnpm is used",
    bun: "the worker's installed bun is used",
    corepack: 'corepack is not enabled by the worker',
    cache: 'build caches are not restored or saved yet',
    resourceClass: 'a worker runs the build with the resources it has',
    autoIncrement: 'version numbers are not changed',
    channel: 'the update channel is not written into the native project; set it in app config',
  };
  for (const [field, reason] of Object.entries(why)) {
    if (p[field as keyof typeof p] !== undefined) notes.push(`"${field}" is not applied by BuildMesh workers: ${reason}.`);
  }
  return notes;
}

export function setupPhases(ctx: PlanContext): Phase[] {
  const frozen = shouldUseFrozenLockfile(ctx.pm, ctx.packageJson, ctx.env);
  const pmLine =
    `Using ${ctx.pm.name}${ctx.pm.yarnFlavor ? ` (${ctx.pm.yarnFlavor})` : ''}` +
    (ctx.pm.lockfile ? `, from ${ctx.pm.lockfile}` : '') +
    `${frozen ? ', with a frozen lockfile' : ''}.`;
  const phases: (Phase | null)[] = [
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
              logVerbatim(await readFile(path, 'utf8'), log);
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
      steps: [{ kind: 'command', command: { argv: installCommand(ctx.pm, frozen) } }],
      network: true,
      timeoutMs: INSTALL_TIMEOUT_MS,
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
  if (existsSync(join(ctx.projectDir, nativeDir))) return null;
  return {
    name: 'PREBUILD',
    steps: [
      { kind: 'command', command: prebuildCommand(ctx) },
      { kind: 'command', command: { argv: installCommand(ctx.pm, false) } },
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

/** The hooks that end a build: on-success after success, on-error after a failure, on-complete in every case. */
export function completionHookPhases(ctx: PlanContext): Phase[] {
  return [
    hookPhase(ctx, 'ON_BUILD_SUCCESS_HOOK', HOOKS.onSuccess, 'on-success'),
    hookPhase(ctx, 'ON_BUILD_ERROR_HOOK', HOOKS.onError, 'on-failure'),
    hookPhase(ctx, 'ON_BUILD_COMPLETE_HOOK', HOOKS.onComplete, 'always'),
  ].filter((p): p is Phase => p !== null);
}
