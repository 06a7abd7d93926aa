#!/usr/bin/env node
// The buildmesh binary. It runs the bundle in ../dist (built by `npm install` and
// `npm test`) when that is at least as new as every source file; otherwise it
// runs the TypeScript sources through tsx's loader, so an edit is never masked
// by a stale bundle.
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const packagesDir = fileURLToPath(new URL('../../', import.meta.url));
const stamp = fileURLToPath(new URL('../dist/BUILT_AT', import.meta.url));

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function bundleIsFresh() {
  try {
    const built = statSync(stamp).mtimeMs;
    return ['cli', 'controller', 'worker', 'protocol'].every((p) => newestSource(`${packagesDir}${p}/src`) <= built);
  } catch {
    return false;
  }
}

if (bundleIsFresh()) {
  await import('../dist/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
