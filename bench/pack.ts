/**
 * pack_vs_tar: packing a real Expo SDK 57 app (node_modules excluded) vs
 * `tar czf` of the same file list in the same run; pack_rss_mb: the packer's peak
 * RSS for a project with a 500 MB asset folder.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listProjectFiles } from '../packages/cli/src/pack/file-list.js';
import { ROOT } from './support/processes.js';

export const EXPO_FIXTURE = join(ROOT, '.cache/expo-blank-57');

function packInChild(dir: string): { ms: number; files: number; peakRssMb: number } {
  const out = execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/support/pack-child.ts'), dir], { cwd: ROOT, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!) as { ms: number; files: number; peakRssMb: number };
}

export async function benchPack(): Promise<Record<string, number>> {
  if (!existsSync(join(EXPO_FIXTURE, 'package.json'))) {
    execFileSync(process.execPath, [join(ROOT, 'scripts/prepare-expo-fixture.mjs')], { stdio: 'inherit' });
  }
  const files = (await listProjectFiles(EXPO_FIXTURE)).map((f) => f.path);
  const listFile = join(tmpdir(), `buildmesh-pack-list-${process.pid}`);
  writeFileSync(listFile, files.join('\n') + '\n');
  const t0 = performance.now();
  execFileSync('bash', ['-c', `tar czf - -C "${EXPO_FIXTURE}" -T "${listFile}" > /dev/null`]);
  const tarMs = performance.now() - t0;
  rmSync(listFile);
  const pack = packInChild(EXPO_FIXTURE);

  // 500 MB of assets in 50 files of patterned (poorly compressible) bytes.
  const big = mkdtempSync(join(tmpdir(), 'buildmesh-pack-big-'));
  try {
    mkdirSync(join(big, 'assets'));
    writeFileSync(join(big, 'package.json'), '{"name":"big"}\n');
    const chunk = Buffer.alloc(10 * 1024 * 1024);
    for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((Math.imul(i, 2654435761) ^ 0x5bd1e995) >>> 0, i);
    for (let i = 0; i < 50; i++) writeFileSync(join(big, 'assets', `asset-${i}.bin`), chunk);
    const bigPack = packInChild(big);
    return { pack_vs_tar: pack.ms / tarMs, pack_expo_ms: pack.ms, tar_expo_ms: tarMs, pack_rss_mb: bigPack.peakRssMb };
  } finally {
    rmSync(big, { recursive: true, force: true });
  }
}
