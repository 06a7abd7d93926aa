// The three profiles `eas build:configure` writes (development, preview, production) plan the
// Gradle tasks EAS plans for them: the CLI resolves each profile from eas.json as eas-cli's
// prepareJob does (internal distribution without buildType is an apk) and the worker's Android
// pipeline picks the task from it (build-tools' resolveGradleCommand).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BuildJob, ResolvedProfile } from '@buildmesh/protocol';
import { resolveBuildProfile } from '../src/eas-json.js';
import { planPipeline } from '../../worker/src/pipelines/index.js';

/** The eas.json `eas build:configure` writes. */
const BUILD_CONFIGURE_EAS_JSON = {
  cli: { version: '>= 16.0.0', appVersionSource: 'remote' },
  build: {
    development: { developmentClient: true, distribution: 'internal' },
    preview: { distribution: 'internal' },
    production: { autoIncrement: true },
  },
  submit: { production: {} },
};

function job(profile: ResolvedProfile): BuildJob {
  const now = new Date().toISOString();
  return {
    attempt: { id: `att_${'0'.repeat(26)}`, number: 1, leaseExpiresAt: now },
    build: {
      id: `bld_${'0'.repeat(26)}`, project: 'fixture', platform: 'android', profileName: profile.name, profile, env: {},
      timeoutSeconds: 3600, source: { sha256: '0'.repeat(64), size: 0 }, hasCredentials: false, message: null, gitCommit: null,
    },
    timing: { heartbeatIntervalMs: 10000, leaseTtlMs: 60000, claimWaitMs: 30000 },
  };
}

void test('development, preview and production plan :app:assembleDebug, :app:assembleRelease and :app:bundleRelease', async (t) => {
  const workspaceRoot = mkdtempSync(join(tmpdir(), 'buildmesh-configure-profiles-'));
  t.after(() => rmSync(workspaceRoot, { recursive: true, force: true }));
  const projectDir = join(workspaceRoot, 'project');
  cpSync(join(import.meta.dirname, '..', '..', 'worker', 'test', 'fixtures', 'bare-android'), projectDir, { recursive: true });

  const expected: Record<string, { task: string; buildType: ResolvedProfile['buildType'] }> = {
    development: { task: ':app:assembleDebug', buildType: 'apk' },
    preview: { task: ':app:assembleRelease', buildType: 'apk' },
    production: { task: ':app:bundleRelease', buildType: undefined },
  };
  for (const [name, want] of Object.entries(expected)) {
    const { profile } = resolveBuildProfile(BUILD_CONFIGURE_EAS_JSON, name, 'android');
    assert.equal(profile.buildType, want.buildType, `${name}: buildType as eas-cli's prepareJob sets it`);
    const plan = await planPipeline({ job: job(profile), projectDir, workspaceRoot, credentials: null, secrets: {} });
    const gradle = plan.phases.find((p) => p.name === 'RUN_GRADLEW')?.steps.find((s) => s.kind === 'command');
    assert.ok(gradle?.kind === 'command');
    assert.match(gradle.command.argv.join(' '), new RegExp(`^bash -c \\./gradlew ${want.task} --profile`), name);
  }
  // iOS profiles are not given an Android buildType, and an explicit one or a gradleCommand is kept.
  assert.equal(resolveBuildProfile(BUILD_CONFIGURE_EAS_JSON, 'preview', 'ios').profile.buildType, undefined);
  const explicit = { build: { a: { distribution: 'internal', android: { buildType: 'app-bundle' } }, b: { distribution: 'internal', android: { gradleCommand: ':app:bundleRelease' } } } };
  assert.equal(resolveBuildProfile(explicit, 'a', 'android').profile.buildType, 'app-bundle');
  assert.equal(resolveBuildProfile(explicit, 'b', 'android').profile.buildType, undefined);
});
