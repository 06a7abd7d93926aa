/**
 * How to run this CLI from where the user is, for the "next step" lines it prints: `buildmesh` when
 * that name on PATH is this CLI (installed with `npm install -g <controller>/cli/buildmesh.tgz`),
 * `npx buildmesh` inside the BuildMesh checkout it runs from, else its absolute path — never a bare
 * `npx buildmesh` where npx would fetch some other package from the public registry.
 */
import { existsSync, realpathSync } from 'node:fs';
import { delimiter, dirname, join, relative, resolve, sep } from 'node:path';

function real(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

let cached: string | undefined;

export function cli(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd(), bin = process.argv[1] ?? ''): string {
  if (cached !== undefined && env === process.env) return cached;
  const self = real(bin);
  let answer: string;
  // A node_modules/.bin on PATH is npx's (or an npm script's) for this one run, not the user's shell.
  const onPath = (env.PATH ?? '')
    .split(delimiter)
    .some((dir) => dir && !dir.endsWith(join('node_modules', '.bin')) && self !== null && real(join(dir, 'buildmesh')) === self);
  if (onPath) {
    answer = 'buildmesh';
  } else {
    // A checkout: packages/cli/bin/buildmesh.js next to packages/cli/src.
    const binDir = self ? dirname(self) : '';
    const checkout = self && existsSync(join(binDir, '..', 'src', 'main.ts')) ? resolve(binDir, '..', '..', '..') : null;
    const inside = checkout !== null && !relative(checkout, real(cwd) ?? cwd).startsWith('..' + sep) && relative(checkout, real(cwd) ?? cwd) !== '..';
    answer = inside ? 'npx buildmesh' : self ? `node ${self}` : 'buildmesh';
  }
  if (env === process.env) cached = answer;
  return answer;
}
