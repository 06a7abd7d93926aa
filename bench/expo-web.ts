/**
 * expo_web_build_s: the real Expo SDK 57 blank app built for web through the
 * mesh (real controller, real worker, default sandbox), client wall time from
 * submit (pack + upload included) to the build seen succeeded.
 * expo_web_direct_s: the commands the web pipeline runs (pipelines/common.ts
 * and web.ts: `npm ci --include=dev`, `npx expo export --platform web
 * --output-dir dist`, dist/ packed with node-tar exactly as web.ts packs it),
 * run directly in a fresh copy of the files the CLI uploads, with the step
 * environment a worker gives (allowlisted variables, CI=1, EAS_BUILD_*).
 * expo_web_overhead_ratio: mesh / direct, per run. The two alternate which
 * goes first, so that neither always runs in the other's wake.
 * *_install_s / *_export_s: where the time goes on each side (for the mesh,
 * the INSTALL_DEPENDENCIES and EXPORT_WEB phases' durations; both exports
 * include packing dist/).
 *
 * Cache state, for fairness: the worker runs with BUILDMESH_CACHE_MAX_GB=0 (no
 * dependency cache: every attempt's fresh HOME starts with a cold npm cache, and
 * ~/.npmrc is not read). The direct run gets a fresh HOME and TMPDIR too, so both
 * sides are equally cold. Warm against warm: bench/warm-builds.ts. The
 * first run does one untimed build of each first (page cache, registry).
 *
 * What the mesh does that the direct run does not: pack and upload the source,
 * claim, download + sha256 + unpack it, bwrap around every step (the export
 * step without network), ship every log line to the controller, upload the
 * archive as an artifact, report the finish; plus the client's status polling.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { c as createTar } from 'tar';
import { readEasJson, resolveBuildProfile } from '../packages/cli/src/eas-json.js';
import { listProjectFiles } from '../packages/cli/src/pack/file-list.js';
import { detectPackageManager, installCommand, shouldUseFrozenLockfile } from '../packages/worker/src/pipelines/package-manager.js';
import { WEB_OUTPUT_DIR } from '../packages/worker/src/pipelines/web.js';
import { INHERITED_ENV } from '../packages/worker/src/sandbox/local-executor.js';
import { packLikeTheCli, prepareExpoApp } from '../test/helpers/expo-fixture.js';
import { readAllLogs } from '../test/helpers/builds.js';
import { expectSucceeded, phaseEnd, withMesh, type Mesh } from './support/mesh.js';

const BUILD_TIMEOUT_MS = 20 * 60_000;

export interface Timing {
  totalS: number;
  installS: number;
  exportS: number;
}

export async function buildThroughMesh(mesh: Mesh, app: string): Promise<Timing> {
  const profile = resolveBuildProfile(await readEasJson(app), 'production', 'web').profile;
  const t0 = performance.now();
  const build = await mesh.admin.createBuild({ project: 'expo-blank', platform: 'web', profile }, await packLikeTheCli(app));
  await expectSucceeded(mesh, build.id, BUILD_TIMEOUT_MS);
  const totalS = (performance.now() - t0) / 1000;
  const log = await readAllLogs(mesh.admin, build.id);
  const phaseS = (phase: string) => (phaseEnd(log, phase).durationMs ?? NaN) / 1000;
  return { totalS, installS: phaseS('INSTALL_DEPENDENCIES'), exportS: phaseS('EXPORT_WEB') };
}

async function run(argv: string[], cwd: string, env: Record<string, string>): Promise<void> {
  const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${argv.join(' ')} exited ${code}: ${stderr}`);
}

/**
 * The pipeline's commands in a fresh copy of the uploaded files; times only the commands. `home`:
 * a HOME to reuse (its npm cache warm from an earlier run) instead of a fresh one.
 */
export async function buildDirectly(app: string, home?: string): Promise<Timing> {
  const root = mkdtempSync(join(tmpdir(), 'buildmesh-bench-expo-direct-'));
  try {
    const project = join(root, 'project');
    for (const file of await listProjectFiles(app)) {
      mkdirSync(dirname(join(project, file.path)), { recursive: true });
      copyFileSync(join(app, file.path), join(project, file.path));
    }
    if (!home) mkdirSync(join(root, 'home'));
    mkdirSync(join(root, 'tmp'));
    const env: Record<string, string> = { HOME: home ?? join(root, 'home'), TMPDIR: join(root, 'tmp') };
    for (const name of INHERITED_ENV) if (process.env[name] !== undefined) env[name] = process.env[name]!;
    Object.assign(env, { CI: '1', EAS_BUILD: 'true', EAS_BUILD_RUNNER: 'buildmesh', EAS_BUILD_PLATFORM: 'web', EAS_BUILD_PROFILE: 'production', EAS_BUILD_WORKINGDIR: project });

    // The install argv as the pipeline chooses it (for this app: npm ci --include=dev).
    const packageJson = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as Record<string, unknown>;
    const pm = detectPackageManager(project, packageJson);
    const install = installCommand(pm, shouldUseFrozenLockfile(pm, packageJson, env));

    const t0 = performance.now();
    await run(install, project, env);
    const t1 = performance.now();
    await run(['npx', 'expo', 'export', '--platform', 'web', '--output-dir', WEB_OUTPUT_DIR], project, env);
    const outDir = join(project, WEB_OUTPUT_DIR);
    mkdirSync(join(project, 'build'));
    await createTar({ gzip: true, file: join(project, 'build/web-direct.tar.gz'), cwd: outDir, portable: true }, readdirSync(outDir).sort());
    const t2 = performance.now();
    return { totalS: (t2 - t0) / 1000, installS: (t1 - t0) / 1000, exportS: (t2 - t1) / 1000 };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export async function benchExpoWeb(options: { warmUp?: boolean; directFirst?: boolean } = {}): Promise<Record<string, number>> {
  const app = prepareExpoApp();
  // Cold against cold: the worker keeps no dependency cache here (warm builds: bench/warm-builds.ts).
  return withMesh({ env: { BUILDMESH_CACHE_MAX_GB: '0' } }, async (mesh) => {
    if (options.warmUp) {
      await buildThroughMesh(mesh, app);
      await buildDirectly(app);
    }
    let direct: Timing | undefined;
    if (options.directFirst) direct = await buildDirectly(app);
    const viaMesh = await buildThroughMesh(mesh, app);
    direct ??= await buildDirectly(app);
    return {
      expo_web_build_s: viaMesh.totalS,
      expo_web_direct_s: direct.totalS,
      expo_web_overhead_ratio: viaMesh.totalS / direct.totalS,
      expo_web_build_install_s: viaMesh.installS,
      expo_web_direct_install_s: direct.installS,
      expo_web_build_export_s: viaMesh.exportS,
      expo_web_direct_export_s: direct.exportS,
    };
  });
}
