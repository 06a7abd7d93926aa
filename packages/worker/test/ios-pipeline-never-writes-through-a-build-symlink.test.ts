/**
 * The iOS pipeline's own steps (the worker's code, outside any sandbox on a macOS worker) never
 * write through a symlink the build planted: not at project.pbxproj, ios/build, the Xcode settings
 * file, ExportOptions.plist, the Gymfile, the simulator archive, the credentials folder, the p12 or
 * the installed provisioning profile (nor in a folder above them), they do not read the decoded
 * profile through one, and the simulator archive packs no linked host folder. Each step is run
 * directly (the plan is made for macOS; no Xcode needed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CredentialsBundle, ResolvedProfile } from '@buildmesh/protocol';
import { planPipeline, type PipelinePlan } from '../src/pipelines/index.js';
import type { PhaseContext } from '../src/runner/plan.js';
import { makeProvisioningProfile, makeSigningIdentity, PBXPROJ, writeIosProject, type SigningIdentity } from './support/ios-project.js';
import { makeJob, makeTempDir } from './support/simple-phase-runner.js';

type T = { after(fn: () => void): void };

const HOST_CONTENT = 'host file\n';

let identity: SigningIdentity | undefined;
function credentials(t: T): CredentialsBundle {
  identity ??= makeSigningIdentity(makeTempDir(t, 'buildmesh-ios-identity-'), 'mine', 'pw');
  return {
    ios: {
      targets: {
        App: {
          p12Base64: identity.p12.toString('base64'),
          p12Password: 'pw',
          provisioningProfileBase64: makeProvisioningProfile({
            uuid: '11111111-2222-3333-4444-555555555555', name: 'adhoc', bundleId: 'dev.buildmesh.app', type: 'ad-hoc', certificates: [identity.certificateDer],
          }).toString('base64'),
        },
      },
    },
  };
}

interface Setup {
  plan: PipelinePlan;
  ctx: PhaseContext;
  projectDir: string;
  workspaceRoot: string;
  homeDir: string;
  /** A host file and folder outside the workspace the links point at. */
  victim: string;
  victimDir: string;
  /** Runs the task step of `phase` whose description matches. */
  task(phase: string, describe: RegExp): Promise<void>;
}

async function setup(t: T, profile: Partial<ResolvedProfile>, options: { signed?: boolean; fastlane?: boolean } = {}): Promise<Setup> {
  const root = makeTempDir(t, 'buildmesh-ios-links-');
  const workspaceRoot = join(root, 'workspace');
  const projectDir = join(workspaceRoot, 'project');
  const homeDir = join(root, 'home');
  const victimDir = join(root, 'host');
  mkdirSync(victimDir);
  const victim = join(victimDir, 'victim');
  writeFileSync(victim, HOST_CONTENT);
  writeIosProject(projectDir, { withIosDir: true });
  let n = 0;
  const job = makeJob('ios', profile);
  const plan = await planPipeline({
    job, projectDir, workspaceRoot, secrets: {},
    credentials: options.signed ? credentials(t) : null,
    totalMemBytes: 8 * 1024 ** 3,
    hostPlatform: 'darwin',
    fastlane: options.fastlane ?? false,
    homeDir,
    randomId: () => `id-${++n}`,
  });
  const ctx = {
    job, projectDir, workspaceRoot, env: { ...plan.env }, log: () => {}, signal: new AbortController().signal,
    exec: () => Promise.reject(new Error('no commands here')),
  } as PhaseContext;
  const task = async (phase: string, describe: RegExp) => {
    const step = plan.phases.find((p) => p.name === phase)?.steps.find((s) => s.kind === 'task' && describe.test(s.describe));
    assert.ok(step && step.kind === 'task', `${phase}: ${describe}`);
    await step.run(ctx);
  };
  return { plan, ctx, projectDir, workspaceRoot, homeDir, victim, victimDir, task };
}

function untouched(s: Setup): void {
  assert.equal(readFileSync(s.victim, 'utf8'), HOST_CONTENT, 'the host file was not written');
  assert.deepEqual(readdirSync(s.victimDir).sort(), ['victim'], 'nothing was created in the host folder');
}

const CONFIGURE = ['CONFIGURE_XCODE_PROJECT', /^resolve the workspace/] as const;
const EXPORT_OPTIONS = ['RUN_FASTLANE', /^write ios\/build\/ExportOptions\.plist/] as const;
const GYMFILE = ['RUN_FASTLANE', /^write ios\/Gymfile/] as const;
const PACK = ['RUN_FASTLANE', /^pack ios\/build/] as const;
const PREPARE = ['PREPARE_CREDENTIALS', /^write each target's certificate/] as const;
const CHECK = ['PREPARE_CREDENTIALS', /^check each target's certificate/] as const;

void test('CONFIGURE_XCODE_PROJECT refuses a linked project.pbxproj, ios/build, settings file or ios folder', async (t) => {
  {
    const s = await setup(t, { distribution: 'internal' }, { signed: true });
    const pbx = join(s.projectDir, 'ios', 'App.xcodeproj', 'project.pbxproj');
    writeFileSync(s.victim, PBXPROJ);
    const before = readFileSync(s.victim, 'utf8');
    await s.task(...PREPARE);
    rmSync(pbx);
    symlinkSync(s.victim, pbx);
    await assert.rejects(s.task(...CONFIGURE), /symlink/);
    assert.equal(readFileSync(s.victim, 'utf8'), before, 'the signing edit was not written to the host file');
  }
  {
    const s = await setup(t, { distribution: 'internal' }, { signed: true });
    symlinkSync(s.victimDir, join(s.projectDir, 'ios', 'build'));
    await assert.rejects(s.task(...CONFIGURE), /symlink/);
    untouched(s);
  }
  {
    const s = await setup(t, { distribution: 'internal' }, { signed: true });
    mkdirSync(join(s.projectDir, 'ios', 'build'));
    symlinkSync(s.victim, join(s.projectDir, 'ios', 'build', 'buildmesh-xcode.env'));
    await assert.rejects(s.task(...CONFIGURE), /symlink/);
    untouched(s);
  }
  {
    // ios/ itself a link to a host copy of the project's ios folder: nothing is created there.
    const s = await setup(t, { distribution: 'internal' }, { signed: true });
    const hostIos = join(s.victimDir, 'ios');
    renameSync(join(s.projectDir, 'ios'), hostIos);
    symlinkSync(hostIos, join(s.projectDir, 'ios'));
    await assert.rejects(s.task(...CONFIGURE), /symlink/);
    assert.equal(existsSync(join(hostIos, 'build')), false, 'no build folder in the host copy');
  }
  {
    // The control: the same step without links writes the settings file.
    const s = await setup(t, { distribution: 'internal' }, { signed: true });
    await s.task(...CONFIGURE);
    assert.match(readFileSync(join(s.projectDir, 'ios', 'build', 'buildmesh-xcode.env'), 'utf8'), /XCODE_SCHEME/);
  }
});

void test('ExportOptions.plist, the Gymfile and the simulator archive are never written through a link', async (t) => {
  {
    const s = await setup(t, { distribution: 'internal' }, { signed: true });
    mkdirSync(join(s.projectDir, 'ios', 'build'));
    symlinkSync(s.victim, join(s.projectDir, 'ios', 'build', 'ExportOptions.plist'));
    await assert.rejects(s.task(...EXPORT_OPTIONS), /symlink/);
    untouched(s);
  }
  {
    const s = await setup(t, { distribution: 'internal' }, { signed: true });
    symlinkSync(s.victimDir, join(s.projectDir, 'ios', 'build'));
    await assert.rejects(s.task(...EXPORT_OPTIONS), /symlink/);
    untouched(s);
  }
  {
    // A Gymfile link (dangling or not) is the project's own: used as is, never written.
    const s = await setup(t, { distribution: 'store' }, { signed: true, fastlane: true });
    await s.task(...CONFIGURE);
    symlinkSync(join(s.victimDir, 'planted'), join(s.projectDir, 'ios', 'Gymfile'));
    await s.task(...GYMFILE);
    untouched(s);
  }
  {
    const s = await setup(t, { simulator: true });
    await s.task(...CONFIGURE);
    const app = join(s.projectDir, 'ios', 'build', 'Build', 'Products', 'Release-iphonesimulator', 'App.app');
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, 'App'), 'app');
    symlinkSync(s.victim, join(s.projectDir, 'ios', 'build', 'App-simulator.tar.gz'));
    await assert.rejects(s.task(...PACK), /symlink/);
    untouched(s);
  }
  {
    // A products folder linked to a host folder holding an .app: not packed into the artifact.
    const s = await setup(t, { simulator: true });
    await s.task(...CONFIGURE);
    mkdirSync(join(s.victimDir, 'Release-iphonesimulator', 'App.app'), { recursive: true });
    mkdirSync(join(s.projectDir, 'ios', 'build', 'Build'), { recursive: true });
    symlinkSync(s.victimDir, join(s.projectDir, 'ios', 'build', 'Build', 'Products'));
    await assert.rejects(s.task(...PACK), /symlink/);
    assert.equal(existsSync(join(s.projectDir, 'ios', 'build', 'App-simulator.tar.gz')), false);
  }
  {
    // The control: a real .app is packed.
    const s = await setup(t, { simulator: true });
    await s.task(...CONFIGURE);
    const app = join(s.projectDir, 'ios', 'build', 'Build', 'Products', 'Release-iphonesimulator', 'App.app');
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, 'App'), 'app');
    await s.task(...PACK);
    assert.ok(statSync(join(s.projectDir, 'ios', 'build', 'App-simulator.tar.gz')).size > 0);
  }
});

void test('PREPARE_CREDENTIALS writes no certificate or profile through a link, and reads no decoded profile through one', async (t) => {
  {
    const s = await setup(t, { distribution: 'internal' }, { signed: true });
    symlinkSync(s.victimDir, join(s.workspaceRoot, 'credentials'));
    const mode = statSync(s.victimDir).mode;
    await assert.rejects(s.task(...PREPARE), /symlink/);
    untouched(s);
    assert.equal(statSync(s.victimDir).mode, mode, 'the host folder was not chmodded');
  }
  {
    const s = await setup(t, { distribution: 'internal' }, { signed: true });
    mkdirSync(join(s.workspaceRoot, 'credentials'));
    symlinkSync(s.victimDir, join(s.workspaceRoot, 'credentials', 'ios'));
    const mode = statSync(s.victimDir).mode;
    await assert.rejects(s.task(...PREPARE), /symlink/);
    untouched(s);
    assert.equal(statSync(s.victimDir).mode, mode, 'the host folder was not chmodded');
  }
  {
    const s = await setup(t, { distribution: 'internal' }, { signed: true });
    mkdirSync(join(s.workspaceRoot, 'credentials', 'ios', 'target-0'), { recursive: true });
    symlinkSync(s.victim, join(s.workspaceRoot, 'credentials', 'ios', 'target-0', 'certificate.p12'));
    await assert.rejects(s.task(...PREPARE), /symlink/);
    untouched(s);
  }
  {
    const s = await setup(t, { distribution: 'internal' }, { signed: true });
    const profiles = join(s.homeDir, 'Library', 'MobileDevice', 'Provisioning Profiles');
    mkdirSync(profiles, { recursive: true });
    symlinkSync(s.victim, join(profiles, 'id-2.mobileprovision'));
    await assert.rejects(s.task(...PREPARE), /exists|symlink/);
    untouched(s);
  }
  {
    const s = await setup(t, { distribution: 'internal' }, { signed: true });
    mkdirSync(s.homeDir);
    symlinkSync(s.victimDir, join(s.homeDir, 'Library'));
    await assert.rejects(s.task(...PREPARE), /symlink/);
    untouched(s);
  }
  {
    const s = await setup(t, { distribution: 'internal' }, { signed: true });
    await s.task(...PREPARE);
    assert.equal(statSync(join(s.workspaceRoot, 'credentials', 'ios')).mode & 0o777, 0o700);
    const dir = join(s.workspaceRoot, 'credentials', 'ios', 'target-0');
    writeFileSync(join(dir, 'certificate.pem'), 'not read\n');
    symlinkSync(join(s.homeDir, 'Library', 'MobileDevice', 'Provisioning Profiles', 'id-2.mobileprovision'), join(dir, 'profile.plist'));
    await assert.rejects(s.task(...CHECK), /symlink/);
  }
});
