/**
 * pack_vs_tar: packing a real Expo SDK 57 app (node_modules excluded) vs
 * `tar czf` of the same file list in the same run; pack_rss_mb: the packer's peak
 * RSS for a project with a 500 MB asset folder.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { listProjectFiles } from '../packages/cli/src/pack/file-list.js';
import { ROOT } from './support/processes.js';
import { prepareExpoApp } from '../test/helpers/expo-fixture.js';

/**
 * The packer as the CLI ships it: bundled by esbuild and run by plain node (the
 * tsx loader alone would add ~40 MB to the RSS being measured).
 */
async function bundlePackChild(): Promise<string> {
  mkdirSync(join(ROOT, 'node_modules/.cache'), { recursive: true });
  // Inside the checkout, so the bundle's external imports resolve from its node_modules.
  const outfile = join(mkdtempSync(join(ROOT, 'node_modules/.cache/buildmesh-pack-child-')), 'pack-child.mjs');
  await build({
    entryPoints: [join(ROOT, 'bench/support/pack-child.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  return outfile;
}

function packInChild(child: string, dir: string): { listMs: number; ms: number; files: number; peakRssMb: number } {
  const out = execFileSync(process.execPath, [child, dir], { cwd: ROOT, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!) as { listMs: number; ms: number; files: number; peakRssMb: number };
}

export async function benchPack(): Promise<Record<string, number>> {
  const app = prepareExpoApp();
  const files = (await listProjectFiles(app)).map((f) => f.path);
  const listFile = join(tmpdir(), `buildmesh-pack-list-${process.pid}`);
  writeFileSync(listFile, files.join('\n') + '\n');
  const t0 = performance.now();
  execFileSync('bash', ['-c', `tar czf - -C "${app}" -T "${listFile}" > /dev/null`]);
  const tarMs = performance.now() - t0;
  rmSync(listFile);
  const child = await bundlePackChild();
  const pack = packInChild(child, app);

  // 500 MB of assets in 50 files of patterned (poorly compressible) bytes.
  const big = mkdtempSync(join(tmpdir(), 'buildmesh-pack-big-'));
  try {
    mkdirSync(join(big, 'assets'));
    writeFileSync(join(big, 'package.json'), '{"name":"big"}\n');
    const chunk = Buffer.alloc(10 * 1024 * 1024);
    for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((Math.imul(i, 2654435761) ^ 0x5bd1e995) >>> 0, i);
    for (let i = 0; i < 50; i++) writeFileSync(join(big, 'assets', `asset-${i}.bin`), chunk);
    const bigPack = packInChild(child, big);
    return { pack_vs_tar: pack.ms / tarMs, pack_expo_ms: pack.ms, tar_expo_ms: tarMs, pack_list_expo_ms: pack.listMs, pack_rss_mb: bigPack.peakRssMb };
  } finally {
    rmSync(big, { recursive: true, force: true });
    rmSync(dirname(child), { recursive: true, force: true });
  }
}
