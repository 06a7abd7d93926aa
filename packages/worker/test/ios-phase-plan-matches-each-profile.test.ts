// The iOS pipeline plans what EAS runs for each kind of profile, down to each command and
// argument: store (fastlane gym), internal/ad-hoc (xcodebuild archive + -exportArchive),
// enterprise, simulator (a packed .app), managed (prebuild after credentials). The credentials
// cleanup is an `always` phase. It refuses to plan on a non-macOS worker. The plans are also run
// here, on any OS, with the real openssl and stand-ins for the macOS-only tools (support/ios-project.ts),
// so the scripts, the certificate check, the Xcode signing edit and the cleanup are exercised.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { list } from 'tar';
import { glob } from 'tinyglobby';
import type { CredentialsBundle, ResolvedProfile } from '@buildmesh/protocol';
import { planPipeline, PipelineError, type PipelinePlan } from '../src/pipelines/index.js';
import { ADD_TO_SEARCH_LIST_SCRIPT, CLEAN_UP_SCRIPT, REWRAP_P12_SCRIPT } from '../src/pipelines/ios-credentials.js';
import { FASTLANE_ENV, XCODEBUILD_SCRIPT, XCODEBUILD_SIMULATOR_SCRIPT } from '../src/pipelines/ios.js';
import { buildPlist, parsePlist } from '../src/pipelines/plist.js';
import {
  makeProvisioningProfile, makeSigningIdentity, readStubLog, TEAM_ID, writeIosProject, writeMacToolStubs, type SigningIdentity,
} from './support/ios-project.js';
import { makeJob, makeTempDir, runPlanSimply } from './support/simple-phase-runner.js';

type T = { after(fn: () => void): void };

const P12_PASSWORD = `p12 "pass" $word 'x'`;
const APP_PROFILE_UUID = '11111111-2222-3333-4444-555555555555';
const SHARE_PROFILE_UUID = '66666666-7777-8888-9999-000000000000';

let identity: SigningIdentity | undefined;
let otherIdentity: SigningIdentity | undefined;
function identities(t: T): { mine: SigningIdentity; other: SigningIdentity } {
  if (!identity || !otherIdentity) {
    const dir = makeTempDir(t, 'buildmesh-ios-identity-');
    identity = makeSigningIdentity(dir, 'mine', P12_PASSWORD);
    otherIdentity = makeSigningIdentity(dir, 'other', 'other-password');
  }
  return { mine: identity, other: otherIdentity };
}

function credentialsFor(t: T, type: 'app-store' | 'ad-hoc' | 'enterprise' | 'development', profileCertificate?: Buffer): CredentialsBundle {
  const { mine } = identities(t);
  const target = (uuid: string, bundleId: string) => ({
    p12Base64: mine.p12.toString('base64'),
    p12Password: P12_PASSWORD,
    provisioningProfileBase64: makeProvisioningProfile({
      uuid, name: `${type} ${bundleId}`, bundleId, type, certificates: [profileCertificate ?? mine.certificateDer],
    }).toString('base64'),
  });
  return {
    ios: {
      targets: {
        App: target(APP_PROFILE_UUID, 'dev.buildmesh.app'),
        ShareExtension: target(SHARE_PROFILE_UUID, 'dev.buildmesh.app.share'),
      },
    },
  };
}

interface Setup {
  plan: PipelinePlan;
  projectDir: string;
  workspaceRoot: string;
  homeDir: string;
  stubLog: string;
  job: ReturnType<typeof makeJob>;
}

async function plan(
  t: T,
  profile: Partial<ResolvedProfile>,
  options: { credentials?: CredentialsBundle | null; fastlane?: boolean; withIosDir?: boolean } = {},
): Promise<Setup> {
  const workspaceRoot = makeTempDir(t, 'buildmesh-ios-');
  const projectDir = join(workspaceRoot, 'project');
  const homeDir = join(workspaceRoot, 'home');
  writeIosProject(projectDir, { withIosDir: options.withIosDir ?? true });
  let n = 0;
  const job = makeJob('ios', profile);
  const result = await planPipeline({
    job, projectDir, workspaceRoot, secrets: {},
    credentials: options.credentials === undefined ? null : options.credentials,
    totalMemBytes: 8 * 1024 ** 3,
    hostPlatform: 'darwin',
    fastlane: options.fastlane ?? false,
    homeDir,
    randomId: () => `id-${++n}`,
  });
  return { plan: result, projectDir, workspaceRoot, homeDir, stubLog: join(workspaceRoot, 'stub-calls.log'), job };
}

/** Runs the plan with the macOS tools stood in for; openssl, bash and npm run for real. */
async function run(t: T, setup: Setup) {
  const stubs = makeTempDir(t, 'buildmesh-ios-stubs-');
  writeMacToolStubs(stubs);
  const planWithStubs = { ...setup.plan, env: { ...setup.plan.env, PATH: `${stubs}:${process.env.PATH}`, STUB_LOG: setup.stubLog } };
  return runPlanSimply(planWithStubs, setup.job, setup.projectDir, setup.workspaceRoot);
}

/** The plan as data: phase names, `always`, and each step's argv/cwd/env or task description. */
function shape(p: PipelinePlan) {
  return p.phases.map((phase) => ({
    name: phase.name,
    ...(phase.always ? { always: phase.always } : {}),
    steps: phase.steps.map((s) =>
      s.kind === 'task' ? s.describe : { argv: s.command.argv, ...(s.command.cwd ? { cwd: s.command.cwd } : {}), ...(s.command.env ? { env: s.command.env } : {}) },
    ),
  }));
}

function envOf(p: PipelinePlan, phase: string, step: number): Record<string, string> {
  const s = p.phases.find((x) => x.name === phase)!.steps[step]!;
  assert.equal(s.kind, 'command');
  return s.kind === 'command' ? s.command.env ?? {} : {};
}

/** The PREPARE_CREDENTIALS and CLEAN_UP_CREDENTIALS phases every device build with two targets has. */
function credentialPhases(s: Setup) {
  const creds = join(s.workspaceRoot, 'credentials', 'ios');
  const kc = join(creds, 'buildmesh-id-1.keychain');
  const profilesDir = join(s.homeDir, 'Library', 'MobileDevice', 'Provisioning Profiles');
  const installed = [join(profilesDir, 'id-2.mobileprovision'), join(profilesDir, 'id-3.mobileprovision')];
  const keychainPassword = envOf(s.plan, 'PREPARE_CREDENTIALS', 1).BUILDMESH_KEYCHAIN_PASSWORD!;
  const importPasswords = [6, 9].map((i) => envOf(s.plan, 'PREPARE_CREDENTIALS', i).BUILDMESH_P12_IMPORT_PASSWORD!);
  const kcEnv = { BUILDMESH_KEYCHAIN_PASSWORD: keychainPassword };
  const p12Env = { BUILDMESH_P12_PASSWORD: P12_PASSWORD };
  const perTarget = (i: number) => {
    const dir = join(creds, `target-${i}`);
    return [
      { argv: ['/usr/bin/openssl', 'pkcs12', '-in', join(dir, 'certificate.p12'), '-passin', 'env:BUILDMESH_P12_PASSWORD', '-nokeys', '-clcerts', '-out', join(dir, 'certificate.pem')], env: p12Env },
      { argv: ['bash', '-c', REWRAP_P12_SCRIPT, 'rewrap-p12', join(dir, 'certificate.p12'), join(dir, 'import.p12')], env: { ...p12Env, BUILDMESH_P12_IMPORT_PASSWORD: importPasswords[i]! } },
      {
        argv: ['bash', '-c', 'exec security import "$1" -k "$2" -f pkcs12 -P "$BUILDMESH_P12_IMPORT_PASSWORD" -T /usr/bin/codesign -T /usr/bin/security', 'security', join(dir, 'import.p12'), kc],
        env: { BUILDMESH_P12_IMPORT_PASSWORD: importPasswords[i]! },
      },
    ];
  };
  return {
    keychainPassword,
    importPasswords,
    kc,
    installed,
    prepare: {
      name: 'PREPARE_CREDENTIALS',
      steps: [
        `write each target's certificate to ${creds} and install its provisioning profile in ${profilesDir}`,
        { argv: ['bash', '-c', 'exec security create-keychain -p "$BUILDMESH_KEYCHAIN_PASSWORD" "$1"', 'security', kc], env: kcEnv },
        { argv: ['security', 'set-keychain-settings', '-lut', '21600', kc] },
        { argv: ['bash', '-c', 'exec security unlock-keychain -p "$BUILDMESH_KEYCHAIN_PASSWORD" "$1"', 'security', kc], env: kcEnv },
        ...perTarget(0),
        ...perTarget(1),
        { argv: ['bash', '-c', 'exec security set-key-partition-list -S apple-tool:,apple:,codesign: -s -k "$BUILDMESH_KEYCHAIN_PASSWORD" "$1" >/dev/null', 'security', kc], env: kcEnv },
        { argv: ['bash', '-c', ADD_TO_SEARCH_LIST_SCRIPT, 'add-keychain', kc] },
        { argv: ['security', 'cms', '-D', '-i', installed[0]!, '-o', join(creds, 'target-0', 'profile.plist')] },
        { argv: ['security', 'cms', '-D', '-i', installed[1]!, '-o', join(creds, 'target-1', 'profile.plist')] },
        "check each target's certificate against its provisioning profile",
      ],
    },
    cleanUp: {
      name: 'CLEAN_UP_CREDENTIALS',
      always: 'always' as const,
      steps: [{ argv: ['bash', '-c', CLEAN_UP_SCRIPT, 'clean-up-credentials', kc, ...installed] }, `remove ${creds}`],
    },
  };
}

const SETUP = [
  { name: 'READ_EAS_JSON', steps: ['log eas.json and the resolved build profile'] },
  { name: 'READ_PACKAGE_JSON', steps: ['log package.json and the package manager'] },
  { name: 'INSTALL_DEPENDENCIES', steps: [{ argv: ['npm', 'ci', '--include=dev'] }] },
];
const PODS = {
  name: 'INSTALL_PODS',
  steps: ["remove a committed ios/.xcode.env.local (it points at another machine's node)", { argv: ['pod', 'install'], cwd: 'ios', env: { LANG: 'en_US.UTF-8' } }],
};
const GYMFILE_STEP = 'write ios/Gymfile (export method from the provisioning profile, iCloud container environment from the entitlements) unless the project has one';
const CONFIGURE_SIGNED = {
  name: 'CONFIGURE_XCODE_PROJECT',
  steps: ['resolve the workspace, scheme and configuration, set manual signing on each signed target, and write ios/build/buildmesh-xcode.env'],
};

void test('on a non-macOS worker the iOS pipeline refuses with TOOLCHAIN_MISSING', async (t) => {
  const workspaceRoot = makeTempDir(t);
  writeIosProject(workspaceRoot, { withIosDir: true });
  const input = { job: makeJob('ios', { simulator: true }), projectDir: workspaceRoot, workspaceRoot, credentials: null, secrets: {} };
  const refused = (err: unknown) => err instanceof PipelineError && err.code === 'TOOLCHAIN_MISSING' && /macOS/.test(err.message);
  await assert.rejects(planPipeline({ ...input, hostPlatform: 'linux' }), refused);
  if (process.platform !== 'darwin') await assert.rejects(planPipeline(input), refused);
});

void test('a device build without signing credentials is refused with CREDENTIALS_MISSING', async (t) => {
  await assert.rejects(plan(t, { distribution: 'store' }), (err: unknown) => err instanceof PipelineError && err.code === 'CREDENTIALS_MISSING');
});

void test('store: keychain, certificates and profiles, pods, signing, fastlane gym, cleanup always — every command exactly', async (t) => {
  const s = await plan(t, { distribution: 'store' }, { credentials: credentialsFor(t, 'app-store'), fastlane: true });
  const c = credentialPhases(s);
  assert.deepEqual(shape(s.plan), [
    ...SETUP,
    c.prepare,
    PODS,
    CONFIGURE_SIGNED,
    {
      name: 'RUN_FASTLANE',
      steps: [GYMFILE_STEP, { argv: ['fastlane', 'gym'], cwd: 'ios', env: FASTLANE_ENV }],
    },
    c.cleanUp,
  ]);
  assert.deepEqual(s.plan.artifacts, { applicationArchive: ['ios/build/*.ipa'], buildArtifacts: [] });
  // As on EAS, `pod install` has no wall-clock limit but is stopped after 30 minutes without output.
  const pods = s.plan.phases.find((p) => p.name === 'INSTALL_PODS');
  assert.equal(pods?.timeoutMs, undefined);
  assert.deepEqual(pods?.idleTimeout, { warnAfterMs: 15 * 60_000, killAfterMs: 30 * 60_000 });
  // Throwaway passwords: long, distinct, masked in the log, and never the user's p12 password in argv.
  assert.ok([c.keychainPassword, ...c.importPasswords].every((p) => p.length >= 32));
  assert.equal(new Set([c.keychainPassword, ...c.importPasswords]).size, 3);
  for (const secret of [c.keychainPassword, ...c.importPasswords, P12_PASSWORD]) assert.ok(s.plan.redact.includes(secret));
  const argvs = s.plan.phases.flatMap((p) => p.steps.flatMap((st) => (st.kind === 'command' ? st.command.argv : [])));
  for (const secret of [c.keychainPassword, ...c.importPasswords, P12_PASSWORD]) assert.ok(!argvs.some((a) => a.includes(secret)));

  const r = await run(t, s);
  assert.equal(r.succeeded, true, JSON.stringify(r.error ?? r.phases.filter((p) => p.result !== 'success'), null, 2));
  const gymfile = readFileSync(join(s.projectDir, 'ios', 'Gymfile'), 'utf8');
  assert.equal(gymfile, [
    '# Generated by BuildMesh for this build; a Gymfile committed in ios/ is used instead.',
    'workspace("App.xcworkspace")',
    'scheme("App")',
    'configuration("Release")',
    'clean(false)',
    'export_method("app-store")',
    'export_options({',
    '  signingStyle: "manual",',
    `  teamID: "${TEAM_ID}",`,
    '  provisioningProfiles: {',
    `    "dev.buildmesh.app" => "${APP_PROFILE_UUID}",`,
    `    "dev.buildmesh.app.share" => "${SHARE_PROFILE_UUID}",`,
    '  }',
    '})',
    `xcargs("OTHER_CODE_SIGN_FLAGS=\\"--keychain ${c.kc}\\"")`,
    `export_xcargs("OTHER_CODE_SIGN_FLAGS=\\"--keychain ${c.kc}\\"")`,
    'disable_xcpretty(true)',
    'buildlog_path("build/logs")',
    'derived_data_path("build")',
    'output_directory("build")',
    '',
  ].join('\n'));
  assert.deepEqual(await glob(s.plan.artifacts.applicationArchive, { cwd: s.projectDir }), ['ios/build/App.ipa']);
  // What the macOS tools were asked to do, in order (the stand-in `security import` checked each
  // re-wrapped p12 opens with its one-time password; the user's password never reached `security`).
  const calls = readStubLog(s.stubLog).map((argv) => argv.join(' '));
  assert.deepEqual(calls, [
    `security create-keychain -p ${c.keychainPassword} ${c.kc}`,
    `security set-keychain-settings -lut 21600 ${c.kc}`,
    `security unlock-keychain -p ${c.keychainPassword} ${c.kc}`,
    `security import ${join(s.workspaceRoot, 'credentials/ios/target-0/import.p12')} -k ${c.kc} -f pkcs12 -P ${c.importPasswords[0]} -T /usr/bin/codesign -T /usr/bin/security`,
    `security import ${join(s.workspaceRoot, 'credentials/ios/target-1/import.p12')} -k ${c.kc} -f pkcs12 -P ${c.importPasswords[1]} -T /usr/bin/codesign -T /usr/bin/security`,
    `security set-key-partition-list -S apple-tool:,apple:,codesign: -s -k ${c.keychainPassword} ${c.kc}`,
    'security list-keychains -d user',
    `security list-keychains -d user -s ${c.kc} /Users/ci/Library/Keychains/login.keychain-db`,
    `security cms -D -i ${c.installed[0]} -o ${join(s.workspaceRoot, 'credentials/ios/target-0/profile.plist')}`,
    `security cms -D -i ${c.installed[1]} -o ${join(s.workspaceRoot, 'credentials/ios/target-1/profile.plist')}`,
    'pod install',
    'fastlane gym',
    'security list-keychains -d user',
    'security list-keychains -d user -s /Users/ci/Library/Keychains/login.keychain-db',
    `security delete-keychain ${c.kc}`,
  ]);
  assert.ok(!readFileSync(s.stubLog, 'utf8').includes(P12_PASSWORD));
  // Cleanup removed the installed profiles and the workspace copies.
  for (const p of c.installed) assert.ok(!existsSync(p), `${p} removed`);
  assert.ok(!existsSync(join(s.workspaceRoot, 'credentials', 'ios')));
});

void test('internal (ad-hoc) without fastlane: xcodebuild archive + -exportArchive, ExportOptions.plist, manual signing per target', async (t) => {
  const s = await plan(t, { distribution: 'internal' }, { credentials: credentialsFor(t, 'ad-hoc'), fastlane: false });
  const c = credentialPhases(s);
  assert.deepEqual(shape(s.plan), [
    ...SETUP,
    c.prepare,
    PODS,
    CONFIGURE_SIGNED,
    {
      name: 'RUN_FASTLANE',
      steps: [
        'write ios/build/ExportOptions.plist (export method from the provisioning profile)',
        {
          argv: ['bash', '-c', XCODEBUILD_SCRIPT, 'xcodebuild', '-destination', 'generic/platform=iOS', '-archivePath', 'build/buildmesh.xcarchive',
            '-derivedDataPath', 'build', 'archive', `OTHER_CODE_SIGN_FLAGS=--keychain ${c.kc}`],
          cwd: 'ios',
        },
        {
          argv: ['xcodebuild', '-exportArchive', '-archivePath', 'build/buildmesh.xcarchive', '-exportOptionsPlist', 'build/ExportOptions.plist', '-exportPath', 'build'],
          cwd: 'ios',
        },
      ],
    },
    c.cleanUp,
  ]);

  const r = await run(t, s);
  assert.equal(r.succeeded, true, JSON.stringify(r.error ?? r.phases.filter((p) => p.result !== 'success'), null, 2));
  const xcodeCalls = readStubLog(s.stubLog).filter((a) => a[0] === 'xcodebuild');
  assert.deepEqual(xcodeCalls, [
    ['xcodebuild', '-workspace', 'App.xcworkspace', '-scheme', 'App', '-configuration', 'Release', '-destination', 'generic/platform=iOS',
      '-archivePath', 'build/buildmesh.xcarchive', '-derivedDataPath', 'build', 'archive', `OTHER_CODE_SIGN_FLAGS=--keychain ${c.kc}`],
    ['xcodebuild', '-exportArchive', '-archivePath', 'build/buildmesh.xcarchive', '-exportOptionsPlist', 'build/ExportOptions.plist', '-exportPath', 'build'],
  ]);
  const exportOptions = parsePlist(readFileSync(join(s.projectDir, 'ios', 'build', 'ExportOptions.plist'), 'utf8'));
  assert.deepEqual(exportOptions, {
    method: 'ad-hoc',
    signingStyle: 'manual',
    teamID: TEAM_ID,
    signingCertificate: identities(t).mine.sha1,
    provisioningProfiles: { 'dev.buildmesh.app': APP_PROFILE_UUID, 'dev.buildmesh.app.share': SHARE_PROFILE_UUID },
  });
  // Release of both targets is manually signed; Debug is untouched.
  const pbx = readFileSync(join(s.projectDir, 'ios', 'App.xcodeproj', 'project.pbxproj'), 'utf8');
  for (const [id, uuid] of [['13B07F951A680F5B00A75B9A', APP_PROFILE_UUID], ['A1B2C3D4E5F6A7B8C9D0E1F5', SHARE_PROFILE_UUID]] as const) {
    const block = pbx.slice(pbx.indexOf(`\t\t${id} /* Release */ = {`), pbx.indexOf('\n\t\t};', pbx.indexOf(`\t\t${id} /* Release */ = {`)));
    assert.match(block, /\n\t\t\t\tCODE_SIGN_STYLE = Manual;/);
    assert.doesNotMatch(block, /Automatic/);
    assert.match(block, new RegExp(`\\n\\t\\t\\t\\tDEVELOPMENT_TEAM = ${TEAM_ID};`));
    assert.match(block, new RegExp(`\\n\\t\\t\\t\\tPROVISIONING_PROFILE_SPECIFIER = "${uuid}";`));
    assert.match(block, /\n\t\t\t\t"CODE_SIGN_IDENTITY\[sdk=iphoneos\*\]" = "Apple Distribution: BuildMesh Test mine \(TEAM123456\)";/);
  }
  assert.equal(pbx.split('CODE_SIGN_STYLE = Automatic;').length - 1, 2, 'the Debug configurations keep automatic signing');
  assert.deepEqual(await glob(s.plan.artifacts.applicationArchive, { cwd: s.projectDir }), ['ios/build/App.ipa']);
});

void test('enterprise (universal provisioning) exports with method "enterprise"', async (t) => {
  const s = await plan(t, { distribution: 'internal', enterpriseProvisioning: 'universal' }, { credentials: credentialsFor(t, 'enterprise'), fastlane: true });
  const runFastlane = shape(s.plan).find((p) => p.name === 'RUN_FASTLANE');
  assert.deepEqual(runFastlane?.steps, [
    GYMFILE_STEP,
    { argv: ['fastlane', 'gym'], cwd: 'ios', env: FASTLANE_ENV },
  ]);
  const r = await run(t, s);
  assert.equal(r.succeeded, true, JSON.stringify(r.error));
  assert.match(readFileSync(join(s.projectDir, 'ios', 'Gymfile'), 'utf8'), /^export_method\("enterprise"\)$/m);
});

void test('simulator: no credentials, xcodebuild -sdk iphonesimulator (derived data in ios/build), the .app packed as a tar.gz', async (t) => {
  const s = await plan(t, { simulator: true, developmentClient: true }, { fastlane: true });
  assert.deepEqual(shape(s.plan), [
    ...SETUP,
    PODS,
    { name: 'CONFIGURE_XCODE_PROJECT', steps: ['resolve the workspace, scheme and configuration, and write ios/build/buildmesh-xcode.env'] },
    {
      name: 'RUN_FASTLANE',
      steps: [
        {
          argv: ['bash', '-c', XCODEBUILD_SIMULATOR_SCRIPT, 'xcodebuild', '-derivedDataPath', 'build', 'build'],
          cwd: 'ios',
        },
        'pack ios/build/Build/Products/*-{iphone,appletv}simulator/*.app into ios/build/<app>-simulator.tar.gz',
      ],
    },
  ]);
  assert.deepEqual(s.plan.artifacts.applicationArchive, ['ios/build/*-simulator.tar.gz']);
  const r = await run(t, s);
  assert.equal(r.succeeded, true, JSON.stringify(r.error ?? r.phases.filter((p) => p.result !== 'success'), null, 2));
  // A dev client builds the Debug configuration.
  assert.deepEqual(readStubLog(s.stubLog).find((a) => a[0] === 'xcodebuild')?.slice(1), [
    '-workspace', 'App.xcworkspace', '-scheme', 'App', '-configuration', 'Debug', '-sdk', 'iphonesimulator',
    '-destination', 'generic/platform=iOS Simulator', '-derivedDataPath', 'build', 'build',
  ]);
  assert.deepEqual(await glob(s.plan.artifacts.applicationArchive, { cwd: s.projectDir }), ['ios/build/App-simulator.tar.gz']);
  const entries: string[] = [];
  await list({ file: join(s.projectDir, 'ios/build/App-simulator.tar.gz'), onReadEntry: (e) => entries.push(e.path) });
  assert.deepEqual(entries.sort(), ['App.app/', 'App.app/App']);
});

void test('managed project: PREBUILD --platform ios runs after PREPARE_CREDENTIALS, then a non-frozen install', async (t) => {
  const s = await plan(t, { distribution: 'store' }, { credentials: credentialsFor(t, 'app-store'), fastlane: true, withIosDir: false });
  assert.deepEqual(s.plan.phases.map((p) => p.name), [
    'READ_EAS_JSON', 'READ_PACKAGE_JSON', 'INSTALL_DEPENDENCIES', 'PREPARE_CREDENTIALS', 'PREBUILD', 'INSTALL_PODS',
    'CONFIGURE_XCODE_PROJECT', 'RUN_FASTLANE', 'CLEAN_UP_CREDENTIALS',
  ]);
  assert.deepEqual(shape(s.plan).find((p) => p.name === 'PREBUILD')?.steps, [
    { argv: ['npx', 'expo', 'prebuild', '--no-install', '--platform', 'ios'], env: { EXPO_IMAGE_UTILS_NO_SHARP: '1' } },
    { argv: ['npm', 'install', '--include=dev'] },
  ]);
  // prebuildCommand as EAS takes it: an Expo CLI command gets `npx expo` and --platform; anything else runs as written.
  for (const [prebuildCommand, script] of [
    ['prebuild --template ./template.tgz', 'npx expo prebuild --template ./template.tgz --platform ios'],
    ['npx expo prebuild --clean -p ios', 'npx expo prebuild --clean -p ios'],
    ['npm run my-prebuild', 'npm run my-prebuild'],
  ]) {
    const custom = await plan(t, { simulator: true, prebuildCommand }, { withIosDir: false });
    assert.deepEqual(shape(custom.plan).find((p) => p.name === 'PREBUILD')?.steps[0], { argv: ['bash', '-c', script], env: { EXPO_IMAGE_UTILS_NO_SHARP: '1' } });
  }
});

void test('a certificate missing from the provisioning profile fails PREPARE_CREDENTIALS with SIGNING_MISMATCH; cleanup still runs', async (t) => {
  const s = await plan(t, { distribution: 'store' }, { credentials: credentialsFor(t, 'app-store', identities(t).other.certificateDer), fastlane: true });
  const c = credentialPhases(s);
  const r = await run(t, s);
  assert.equal(r.succeeded, false);
  assert.equal(r.error?.phase, 'PREPARE_CREDENTIALS');
  assert.equal(r.error?.code, 'SIGNING_MISMATCH');
  assert.match(r.error?.message ?? '', new RegExp(`SHA-1 ${identities(t).mine.sha1}.*${identities(t).other.sha1}`));
  assert.deepEqual(r.phases.map((p) => [p.name, p.result]).slice(3), [
    ['PREPARE_CREDENTIALS', 'failed'],
    ['INSTALL_PODS', 'skipped'],
    ['CONFIGURE_XCODE_PROJECT', 'skipped'],
    ['RUN_FASTLANE', 'skipped'],
    ['CLEAN_UP_CREDENTIALS', 'success'],
  ]);
  assert.ok(readStubLog(s.stubLog).some((a) => a.join(' ') === `security delete-keychain ${c.kc}`));
  for (const p of c.installed) assert.ok(!existsSync(p));
});

void test('a wrong p12 password fails PREPARE_CREDENTIALS as SIGNING_MISMATCH, not as a crash', async (t) => {
  const credentials = credentialsFor(t, 'app-store');
  for (const target of Object.values(credentials.ios!.targets)) target.p12Password = 'not the password';
  const s = await plan(t, { distribution: 'store' }, { credentials, fastlane: true });
  const r = await run(t, s);
  assert.equal(r.error?.phase, 'PREPARE_CREDENTIALS');
  assert.equal(r.error?.code, 'SIGNING_MISMATCH');
  assert.match(r.error?.explanation ?? '', /\.p12\) could not be opened with its password/);
  assert.equal(r.phases.at(-1)?.name, 'CLEAN_UP_CREDENTIALS');
  assert.equal(r.phases.at(-1)?.result, 'success');
});

void test('the export method follows the provisioning profile, development included, whatever eas.json says; iCloud environment carried', async (t) => {
  const cases: Array<[Partial<ResolvedProfile>, 'app-store' | 'ad-hoc' | 'enterprise' | 'development']> = [
    [{ distribution: 'internal', developmentClient: true }, 'development'],
    [{ distribution: 'store' }, 'ad-hoc'],
    [{ distribution: 'internal' }, 'enterprise'],
    [{ distribution: 'internal' }, 'app-store'],
  ];
  for (const [profile, type] of cases) {
    for (const fastlane of [true, false]) {
      const s = await plan(t, profile, { credentials: credentialsFor(t, type), fastlane });
      // The app declares an iCloud container environment in its entitlements.
      mkdirSync(join(s.projectDir, 'ios', 'App'), { recursive: true });
      writeFileSync(join(s.projectDir, 'ios', 'App', 'App.entitlements'), buildPlist({
        'com.apple.developer.icloud-container-environment': 'Production',
        'com.apple.developer.icloud-services': ['CloudKit'],
      }));
      const r = await run(t, s);
      assert.equal(r.succeeded, true, JSON.stringify(r.error ?? r.phases.filter((p) => p.result !== 'success'), null, 2));
      if (fastlane) {
        const gymfile = readFileSync(join(s.projectDir, 'ios', 'Gymfile'), 'utf8');
        assert.match(gymfile, new RegExp(`^export_method\\("${type}"\\)$`, 'm'), `${type} profile, fastlane`);
        assert.match(gymfile, /^ {2}iCloudContainerEnvironment: "Production"$/m);
      } else {
        const options = parsePlist(readFileSync(join(s.projectDir, 'ios', 'build', 'ExportOptions.plist'), 'utf8')) as Record<string, unknown>;
        assert.equal(options.method, type, `${type} profile, xcodebuild`);
        assert.equal(options.iCloudContainerEnvironment, 'Production');
      }
    }
  }
});

void test('a committed ios/.xcode.env.local is removed before pods; ios/.xcode.env is kept', async (t) => {
  const s = await plan(t, { distribution: 'store' }, { credentials: credentialsFor(t, 'app-store'), fastlane: true });
  writeFileSync(join(s.projectDir, 'ios', '.xcode.env'), 'export NODE_BINARY=$(command -v node)\n');
  writeFileSync(join(s.projectDir, 'ios', '.xcode.env.local'), 'export NODE_BINARY=/Users/someone/.nvm/versions/node/v18.0.0/bin/node\n');
  const r = await run(t, s);
  assert.equal(r.succeeded, true, JSON.stringify(r.error));
  assert.ok(!existsSync(join(s.projectDir, 'ios', '.xcode.env.local')));
  assert.ok(existsSync(join(s.projectDir, 'ios', '.xcode.env')));
});

void test('a stray ios/ folder without an Xcode project still runs prebuild', async (t) => {
  const s = await plan(t, { simulator: true }, { withIosDir: false });
  mkdirSync(join(s.projectDir, 'ios'), { recursive: true });
  writeFileSync(join(s.projectDir, 'ios', 'GoogleService-Info.plist'), buildPlist({ API_KEY: 'x' }));
  const again = await planPipeline({
    job: s.job, projectDir: s.projectDir, workspaceRoot: s.workspaceRoot, credentials: null, secrets: {}, hostPlatform: 'darwin', fastlane: false,
  });
  assert.ok(again.phases.some((p) => p.name === 'PREBUILD'), 'ios/ has no .xcodeproj: the project is managed');
});

void test('a tvOS app (SDKROOT appletvos) builds for the tvOS simulator and its .app is packed', async (t) => {
  const s = await plan(t, { simulator: true }, { fastlane: true });
  const pbxPath = join(s.projectDir, 'ios', 'App.xcodeproj', 'project.pbxproj');
  writeFileSync(pbxPath, readFileSync(pbxPath, 'utf8').replace(/(PRODUCT_BUNDLE_IDENTIFIER = [^;]+;)/, '$1\n\t\t\t\tSDKROOT = appletvos;'));
  const r = await run(t, s);
  assert.equal(r.succeeded, true, JSON.stringify(r.error ?? r.phases.filter((p) => p.result !== 'success'), null, 2));
  assert.deepEqual(readStubLog(s.stubLog).find((a) => a[0] === 'xcodebuild')?.slice(7, 11), ['-sdk', 'appletvsimulator', '-destination', 'generic/platform=tvOS Simulator']);
  const entries: string[] = [];
  await list({ file: join(s.projectDir, 'ios/build/App-simulator.tar.gz'), onReadEntry: (e) => entries.push(e.path) });
  assert.deepEqual(entries.sort(), ['App.app/', 'App.app/App']);
});
