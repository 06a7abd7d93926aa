/**
 * The iOS pipeline, macOS only, in the order of EAS's builders/ios.ts: setup and install;
 * PREPARE_CREDENTIALS first (its team id reaches prebuild as APPLE_TEAM_ID); PREBUILD when ios/ is
 * absent; INSTALL_PODS; the post-install hook; CONFIGURE_XCODE_PROJECT; RUN_FASTLANE (fastlane gym
 * when installed, else xcodebuild archive + -exportArchive; simulator builds use `xcodebuild -sdk
 * iphonesimulator` and ship the .app as a tar.gz); CLEAN_UP_CREDENTIALS, which runs after
 * success, failure and cancel; then the completion hooks.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { lstat, readdir, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { c as createTar } from 'tar';
import type { Phase, Step } from '../runner/plan.js';
import { PODS_FAILURES, XCODE_BUILD_FAILURES } from './classify.js';
import {
  completionHookPhases, INSTALL_IDLE_TIMEOUT, postInstallHookPhase, prebuildPhase, preUploadArtifactsHookPhase, setupPhases,
} from './common.js';
import type { PipelinePlan, PlanContext } from './context.js';
import { planIosCredentials, resolveIosSigning, type IosSigningState } from './ios-credentials.js';
import {
  applyManualSigning,
  EXPORT_OPTIONS_FILE,
  exportMethod,
  iCloudContainerEnvironment,
  renderExportOptions,
  renderGymfile,
  resolveXcodeProject,
  XCODE_SETTINGS_FILE,
  xcodeSettingsEnv,
  type XcodeProjectSettings,
} from './ios-xcode.js';
import { PipelineError } from './pipeline-error.js';
import { assertRealDirInside, mkdirInside, openWriteInside, readFileInside, writeFileInside } from '../workspace/inside.js';

export const DEFAULT_IOS_ARCHIVE_GLOB = 'ios/build/*.ipa';
export const DEFAULT_IOS_SIMULATOR_ARCHIVE_GLOB = 'ios/build/*-simulator.tar.gz';
const ARCHIVE_PATH = 'build/buildmesh.xcarchive';

/**
 * Runs xcodebuild on the resolved workspace, scheme and configuration (read from the settings
 * file CONFIGURE_XCODE_PROJECT wrote: for managed projects they exist only after prebuild), with
 * the remaining arguments as given.
 */
export const XCODEBUILD_SCRIPT =
  `set -a && . ./${XCODE_SETTINGS_FILE} && set +a && exec xcodebuild "$XCODE_CONTAINER_FLAG" "$XCODE_CONTAINER"` +
  ' -scheme "$XCODE_SCHEME" -configuration "$XCODE_CONFIGURATION" "$@"';

/** fastlane's own switches for unattended runs (as EAS's common/fastlane.ts sets them). */
export const FASTLANE_ENV: Record<string, string> = {
  FASTLANE_DISABLE_COLORS: '1',
  FASTLANE_SKIP_UPDATE_CHECK: '1',
  SKIP_SLOW_FASTLANE_WARNING: 'true',
  FASTLANE_HIDE_TIMESTAMP: 'true',
  LC_ALL: 'en_US.UTF-8',
};

function isOnPath(tool: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** The simulator build: SDK and destination from the settings file (tvOS apps get the tvOS simulator). */
export const XCODEBUILD_SIMULATOR_SCRIPT =
  `set -a && . ./${XCODE_SETTINGS_FILE} && set +a && exec xcodebuild "$XCODE_CONTAINER_FLAG" "$XCODE_CONTAINER"` +
  ' -scheme "$XCODE_SCHEME" -configuration "$XCODE_CONFIGURATION" -sdk "$XCODE_SIMULATOR_SDK" -destination "$XCODE_SIMULATOR_DESTINATION" "$@"';

function xcodebuild(args: string[]): Step {
  return { kind: 'command', command: { argv: ['bash', '-c', XCODEBUILD_SCRIPT, 'xcodebuild', ...args], cwd: 'ios' } };
}

interface XcodeState {
  settings: XcodeProjectSettings | null;
}

function need(xcode: XcodeState): XcodeProjectSettings {
  if (!xcode.settings) throw new PipelineError('XCODE_BUILD_FAILED', 'CONFIGURE_XCODE_PROJECT did not run.');
  return xcode.settings;
}

function configurePhase(ctx: PlanContext, xcode: XcodeState, signing: IosSigningState | null): Phase {
  const iosDir = join(ctx.projectDir, 'ios');
  return {
    name: 'CONFIGURE_XCODE_PROJECT',
    steps: [
      {
        kind: 'task',
        describe: `resolve the workspace, scheme and configuration${signing ? ', set manual signing on each signed target' : ''}, and write ios/${XCODE_SETTINGS_FILE}`,
        run: async ({ log }) => {
          const settings = await resolveXcodeProject(iosDir, ctx.profile);
          xcode.settings = settings;
          log(`Building ${settings.containerFlag.slice(1)} ${settings.container}, scheme "${settings.scheme}", configuration "${settings.configuration}".`);
          if (signing) {
            const pbxPath = join(iosDir, settings.xcodeproj, 'project.pbxproj');
            const { pbx, applied } = applyManualSigning(await readFileInside(ctx.projectDir, pbxPath), signing.targets, settings.configuration);
            await writeFileInside(ctx.projectDir, pbxPath, pbx);
            for (const line of applied) log(`Manual signing: ${line}.`);
          }
          await mkdirInside(ctx.projectDir, join(iosDir, 'build'));
          await writeFileInside(ctx.projectDir, join(iosDir, XCODE_SETTINGS_FILE), xcodeSettingsEnv(settings, signing?.keychainPath ?? null));
        },
      },
    ],
  };
}

function deviceBuildSteps(ctx: PlanContext, xcode: XcodeState, signing: IosSigningState | null, useFastlane: boolean): Step[] {
  const iosDir = join(ctx.projectDir, 'ios');
  // The export method is known once PREPARE_CREDENTIALS has read the provisioning profiles.
  const method = () => exportMethod(ctx.profile, signing?.targets ?? []);
  const fromWhat = signing ? 'the provisioning profile' : 'the build profile';
  if (useFastlane) {
    return [
      {
        kind: 'task',
        describe: `write ios/Gymfile (export method from ${fromWhat}, iCloud container environment from the entitlements) unless the project has one`,
        run: async ({ log }) => {
          const gymfile = join(iosDir, 'Gymfile');
          // Anything at that path, a symlink included, is the project's own: never written through.
          if (await lstat(gymfile).then(() => true, () => false)) {
            log("Using the project's own ios/Gymfile.");
            return;
          }
          const iCloudEnvironment = await iCloudContainerEnvironment(iosDir);
          await writeFileInside(ctx.projectDir, gymfile, renderGymfile({
            settings: need(xcode),
            method: method(),
            targets: signing?.targets ?? [],
            keychainPath: signing?.keychainPath ?? null,
            iCloudEnvironment,
          }), { exclusive: true });
          log(`Wrote ios/Gymfile (export method ${method()}${iCloudEnvironment ? `, iCloud container environment ${iCloudEnvironment}` : ''}).`);
        },
      },
      { kind: 'command', command: { argv: ['fastlane', 'gym'], cwd: 'ios', env: FASTLANE_ENV } },
    ];
  }
  return [
    {
      kind: 'task',
      describe: `write ios/${EXPORT_OPTIONS_FILE} (export method from ${fromWhat})`,
      run: async ({ log }) => {
        await mkdirInside(ctx.projectDir, join(iosDir, 'build'));
        const iCloudEnvironment = await iCloudContainerEnvironment(iosDir);
        await writeFileInside(ctx.projectDir, join(iosDir, EXPORT_OPTIONS_FILE), renderExportOptions(method(), signing?.targets ?? [], iCloudEnvironment));
        log(`Export method ${method()}${iCloudEnvironment ? `, iCloud container environment ${iCloudEnvironment}` : ''}.`);
      },
    },
    xcodebuild([
      '-destination', 'generic/platform=iOS',
      '-archivePath', ARCHIVE_PATH,
      // Derived data per build, as EAS: never shared with other builds on this worker.
      '-derivedDataPath', 'build',
      'archive',
      ...(signing ? [`OTHER_CODE_SIGN_FLAGS=--keychain ${signing.keychainPath}`] : []),
    ]),
    {
      kind: 'command',
      command: {
        argv: ['xcodebuild', '-exportArchive', '-archivePath', ARCHIVE_PATH, '-exportOptionsPlist', EXPORT_OPTIONS_FILE, '-exportPath', 'build'],
        cwd: 'ios',
      },
    },
  ];
}

function simulatorBuildSteps(ctx: PlanContext, xcode: XcodeState): Step[] {
  const productsDir = join(ctx.projectDir, 'ios', 'build', 'Build', 'Products');
  return [
    { kind: 'command', command: { argv: ['bash', '-c', XCODEBUILD_SIMULATOR_SCRIPT, 'xcodebuild', '-derivedDataPath', 'build', 'build'], cwd: 'ios' } },
    {
      kind: 'task',
      describe: 'pack ios/build/Build/Products/*-{iphone,appletv}simulator/*.app into ios/build/<app>-simulator.tar.gz',
      run: async ({ log }) => {
        const apps: string[] = [];
        // Real folders only: a linked products folder or .app would pack a host folder into the artifact.
        if (existsSync(productsDir)) await assertRealDirInside(ctx.projectDir, productsDir);
        for (const dir of existsSync(productsDir) ? await readdir(productsDir, { withFileTypes: true }) : []) {
          if (!dir.isDirectory() || (!dir.name.endsWith('iphonesimulator') && !dir.name.endsWith('appletvsimulator'))) continue;
          for (const entry of await readdir(join(productsDir, dir.name), { withFileTypes: true })) {
            if (entry.isDirectory() && entry.name.endsWith('.app')) apps.push(join(productsDir, dir.name, entry.name));
          }
        }
        const scheme = need(xcode).scheme;
        const app = apps.find((a) => a.endsWith(`/${scheme}.app`)) ?? apps[0];
        if (!app) throw new PipelineError('ARTIFACT_NOT_FOUND', 'xcodebuild produced no .app under ios/build/Build/Products/*-{iphone,appletv}simulator.');
        const name = app.slice(dirname(app).length + 1);
        const file = join(ctx.projectDir, 'ios', 'build', `${name.slice(0, -'.app'.length)}-simulator.tar.gz`);
        await mkdirInside(ctx.projectDir, dirname(file));
        const out = await openWriteInside(ctx.projectDir, file);
        await pipeline(createTar({ gzip: true, cwd: dirname(app), portable: true }, [name]), out.createWriteStream());
        log(`Packed ${name} into ios/build/${file.slice(file.lastIndexOf('/') + 1)}.`);
      },
    },
  ];
}

export async function planIos(ctx: PlanContext): Promise<PipelinePlan> {
  const host = ctx.input.hostPlatform ?? process.platform;
  if (host !== 'darwin') {
    throw new PipelineError('TOOLCHAIN_MISSING', `iOS builds need a macOS worker with Xcode; this worker runs ${host}.`);
  }
  const simulator = ctx.profile.simulator === true;
  const signingTargets = await resolveIosSigning(ctx.profile, ctx.input.credentials, ctx.projectDir);
  const credentials = signingTargets ? planIosCredentials(ctx, signingTargets, ctx.input.homeDir ?? homedir()) : null;
  const useFastlane = !simulator && (ctx.input.fastlane ?? isOnPath('fastlane'));
  const xcode: XcodeState = { settings: null };

  const phases: (Phase | null | undefined)[] = [
    ...setupPhases(ctx),
    credentials?.prepare,
    prebuildPhase(ctx, 'ios'),
    {
      name: 'INSTALL_PODS',
      steps: [
        {
          kind: 'task',
          describe: 'remove a committed ios/.xcode.env.local (it points at another machine\'s node)',
          run: async ({ log }) => {
            const local = join(ctx.projectDir, 'ios', '.xcode.env.local');
            if (!existsSync(local)) return;
            await rm(local, { force: true });
            log('Removed ios/.xcode.env.local: it sets NODE_BINARY for the machine it was committed from.');
          },
        },
        { kind: 'command', command: { argv: ['pod', 'install'], cwd: 'ios', env: { LANG: 'en_US.UTF-8' } } },
      ],
      network: true,
      idleTimeout: INSTALL_IDLE_TIMEOUT,
      classify: PODS_FAILURES,
    },
    postInstallHookPhase(ctx),
    configurePhase(ctx, xcode, credentials?.state ?? null),
    {
      name: 'RUN_FASTLANE',
      title: useFastlane ? 'Run fastlane' : 'Run xcodebuild',
      steps: simulator ? simulatorBuildSteps(ctx, xcode) : deviceBuildSteps(ctx, xcode, credentials?.state ?? null, useFastlane),
      // Swift packages and CocoaPods' script phases may fetch during the build.
      network: true,
      classify: XCODE_BUILD_FAILURES,
    },
    credentials?.cleanUp,
    preUploadArtifactsHookPhase(ctx),
    ...completionHookPhases(ctx),
  ];
  return {
    phases: phases.filter((p): p is Phase => p !== null && p !== undefined),
    env: ctx.env,
    artifacts: {
      applicationArchive: [ctx.profile.applicationArchivePath ?? (simulator ? DEFAULT_IOS_SIMULATOR_ARCHIVE_GLOB : DEFAULT_IOS_ARCHIVE_GLOB)],
      buildArtifacts: ctx.profile.buildArtifactPaths ?? [],
    },
    redact: ctx.redact,
  };
}
