/**
 * Remote app versions (eas.json `cli.appVersionSource: "remote"` + `autoIncrement`): every Android
 * build submitted gets the next versionCode, kept by the controller in its store, so a controller
 * restart (kill -9) continues the count; `buildmesh version get|set` read and move it, and a
 * client-supplied appBuildVersion is never trusted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../../packages/cli/test/helpers/cli.js';
import { resolveBuildProfile } from '../../packages/cli/src/eas-json.js';
import { startTestController } from '../helpers/controller.js';
import { makeFixtureProject, submitBuild } from '../helpers/builds.js';

const EAS_JSON = { cli: { appVersionSource: 'remote' }, build: { production: { autoIncrement: true } } };

test('autoIncrement raises the remote build version on each build and survives a controller restart', { timeout: 2 * 60_000 }, async (t) => {
  const controller = await startTestController(t);
  const { profile, warnings } = resolveBuildProfile(EAS_JSON, 'production', 'android');
  assert.equal(profile.appVersionSource, 'remote');
  assert.deepEqual(warnings, []);
  const project = makeFixtureProject(t, []);
  const versionOf = async () => {
    const build = await submitBuild(controller.admin, project, { project: 'versioned', platform: 'android', profile: { ...profile, config: undefined } });
    return (await controller.admin.getBuild(build.id)).profile?.appBuildVersion;
  };

  assert.equal(await versionOf(), 1);
  assert.equal(await versionOf(), 2);
  await controller.crash();
  await controller.restart();
  assert.equal(await versionOf(), 3, 'the count survives a restart');

  const env = { BUILDMESH_URL: controller.url, BUILDMESH_TOKEN: controller.adminToken, XDG_CONFIG_HOME: project };
  const get = await runCli(['version', 'get', '--platform', 'android', '--project', 'versioned', '--json'], { env });
  assert.equal(get.code, 0, get.stderr);
  assert.equal((JSON.parse(get.stdout) as { buildVersion: number }).buildVersion, 3);
  const set = await runCli(['version', 'set', '--platform', 'android', '--build-version', '40', '--project', 'versioned'], { env });
  assert.equal(set.code, 0, set.stderr);
  assert.equal(await versionOf(), 41);

  // A client cannot pick the number; iOS counts on its own; without autoIncrement nothing is assigned.
  const forged = await submitBuild(controller.admin, project, { project: 'versioned', platform: 'android', profile: { ...profile, config: undefined, appBuildVersion: 999 } });
  assert.equal((await controller.admin.getBuild(forged.id)).profile?.appBuildVersion, 42);
  const ios = await submitBuild(controller.admin, project, { project: 'versioned', platform: 'ios', profile: { ...resolveBuildProfile(EAS_JSON, 'production', 'ios').profile, config: undefined } });
  assert.equal((await controller.admin.getBuild(ios.id)).profile?.appBuildVersion, 1);
  const plain = await submitBuild(controller.admin, project, { project: 'versioned', platform: 'android', profile: { name: 'plain', env: {}, config: undefined, appVersionSource: 'remote' } });
  assert.equal((await controller.admin.getBuild(plain.id)).profile?.appBuildVersion, undefined);
});
