/**
 * The CLI as an npm package, served by the controller so any machine can `npm install -g
 * <controller>/cli/buildmesh.tgz`: the tarball and its sha256 that `npm run build` writes to
 * packages/cli/release (scripts/pack-cli.mjs). Found beside the CLI bundle this controller runs
 * from, or beside the `buildmesh` workspace package; read from disk per request (streamed).
 */
import { createRequire } from 'node:module';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CliPackage {
  /** Absolute path of buildmesh-<version>.tgz. */
  file: string;
  version: string;
  sha256: string;
}

function releaseDirs(): string[] {
  const dirs = [fileURLToPath(new URL('../release/', import.meta.url))];
  try {
    dirs.push(join(dirname(createRequire(import.meta.url).resolve('buildmesh/package.json')), 'release'));
  } catch {
    // not in a checkout with the CLI workspace
  }
  return dirs;
}

/** The packaged CLI, or null when it is not built (`npm run build` builds it). */
export function findCliPackage(dirs: string[] = releaseDirs()): CliPackage | null {
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    const sums = readdirSync(dir).filter((n) => /^buildmesh-[0-9A-Za-z.+-]+\.tgz\.sha256$/.test(n));
    for (const sum of sums) {
      const name = sum.slice(0, -'.sha256'.length);
      const file = join(dir, name);
      const sha256 = readFileSync(join(dir, sum), 'utf8').split(/\s+/)[0] ?? '';
      if (/^[0-9a-f]{64}$/.test(sha256) && existsSync(file)) return { file, version: name.slice('buildmesh-'.length, -'.tgz'.length), sha256 };
    }
  }
  return null;
}
