/**
 * Warm builds (issue 13), on a real controller and worker with the worker's dependency cache on.
 *
 * expo-web-warm — the real Expo SDK 57 blank app built for web twice on one fresh worker:
 *   expo_web_cold_s     the first build (empty cache), client wall time submit → succeeded;
 *   expo_web_warm_s     the second build of the same project (RESTORE_CACHE hits the npm store);
 *   expo_web_warm_ratio warm ÷ cold;
 *   expo_web_direct_warm_s  the web pipeline's commands run directly (bench/expo-web.ts's
 *                       buildDirectly) with a HOME whose npm cache a first direct run warmed;
 *   expo_web_warm_vs_direct warm mesh ÷ warm direct (the mesh figure includes pack, upload,
 *                       claim, unpack, bwrap, log shipping, artifact upload; the direct one only the commands);
 *   *_install_s         where the time goes: INSTALL_DEPENDENCIES (mesh) / the install (direct).
 *
 * node-switch — a tiny web project (loopback registry stand-in) whose profile asks for a Node.js
 * version the machine does not run, built twice on one fresh worker:
 *   node_switch_first_s   SET_UP_TOOLCHAINS of the first build (download, verify, unpack);
 *   node_switch_cached_s  SET_UP_TOOLCHAINS of the second (already installed: no network).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packProject, readAllLogs } from '../test/helpers/builds.js';
import { prepareExpoApp } from '../test/helpers/expo-fixture.js';
import { startRegistryStandIn } from '../test/helpers/npm-registry-stand-in.js';
import { buildDirectly, buildThroughMesh } from './expo-web.js';
import { expectSucceeded, phaseEnd, withMesh } from './support/mesh.js';

const caEnv = (): Record<string, string> => (process.env.NODE_EXTRA_CA_CERTS ? { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS } : {});

export async function benchExpoWebWarm(): Promise<Record<string, number>> {
  const app = prepareExpoApp();
  const viaMesh = await withMesh({ env: caEnv() }, async (mesh) => {
    const cold = await buildThroughMesh(mesh, app);
    const warm = await buildThroughMesh(mesh, app);
    return { cold, warm };
  });
  const home = mkdtempSync(join(tmpdir(), 'buildmesh-bench-warm-home-'));
  try {
    await buildDirectly(app, home); // warms the npm cache in `home`
    const direct = await buildDirectly(app, home);
    return {
      expo_web_cold_s: viaMesh.cold.totalS,
      expo_web_warm_s: viaMesh.warm.totalS,
      expo_web_warm_ratio: viaMesh.warm.totalS / viaMesh.cold.totalS,
      expo_web_direct_warm_s: direct.totalS,
      expo_web_warm_vs_direct: viaMesh.warm.totalS / direct.totalS,
      expo_web_cold_install_s: viaMesh.cold.installS,
      expo_web_warm_install_s: viaMesh.warm.installS,
      expo_web_direct_warm_install_s: direct.installS,
    };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

export async function benchNodeSwitch(version = '18.20.4'): Promise<Record<string, number>> {
  return withMesh({ env: caEnv() }, async (mesh) => {
    const registry = await startRegistryStandIn(mesh.scope, ['tiny-a']);
    const dir = mkdtempSync(join(tmpdir(), 'buildmesh-bench-node-switch-'));
    mesh.scope.after(() => rmSync(dir, { recursive: true, force: true }));
    for (const [name, text] of Object.entries(registry.project(['tiny-a']))) writeFileSync(join(dir, name), text);
    const setupS = async (): Promise<number> => {
      const build = await mesh.admin.createBuild({ project: 'node-switch', platform: 'web', profile: { name: 'production', env: {}, node: version } }, await packProject(dir));
      await expectSucceeded(mesh, build.id, 10 * 60_000);
      const log = await readAllLogs(mesh.admin, build.id);
      if (!log.some((e) => e.phase === 'SET_UP_TOOLCHAINS' && e.text === `v${version}`)) throw new Error(`the build did not run Node.js ${version}`);
      return (phaseEnd(log, 'SET_UP_TOOLCHAINS').durationMs ?? NaN) / 1000;
    };
    const first = await setupS();
    const cached = await setupS();
    return { node_switch_first_s: first, node_switch_cached_s: cached };
  });
}
