#!/usr/bin/env node
// The buildmesh binary. It runs the bundle in ../dist (built by `npm install`, `npm run build`, and
// before tests and benchmarks) without checking it against the sources: start-up stays a few
// file reads. BUILDMESH_DEV=1, or a checkout with no bundle yet, runs the TypeScript sources
// through tsx instead (slower to start, always current).
import { existsSync } from 'node:fs';

if (process.env.BUILDMESH_DEV !== '1' && existsSync(new URL('../dist/main.js', import.meta.url))) {
  await import('../dist/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
