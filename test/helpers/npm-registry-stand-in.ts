/**
 * A loopback npm registry stand-in that counts tarball downloads, and a small web project whose
 * package-lock.json resolves to it: `expo` is a stub whose `expo export --output-dir dist` writes an
 * index.html (so the web pipeline runs end to end in a second), plus any number of tiny packages.
 * A real `npm ci` installs it; a warm npm cache shows as tarballs not fetched again.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create as createTar } from 'tar';

interface Pkg {
  name: string;
  version: string;
  files: Record<string, { text: string; mode?: number }>;
  bin?: Record<string, string>;
}

export interface RegistryStandIn {
  url: string;
  /** Tarball GETs per package name. */
  fetches: Map<string, number>;
  totalFetches(): number;
  /** package.json and package-lock.json of a project depending on `expo` and the given packages (expo 57.0.0, the others 1.0.0). */
  project(deps: string[], extra?: { scripts?: Record<string, string> }): Record<string, string>;
}

const EXPO_STUB = `#!/usr/bin/env node
const fs = require('fs');
const i = process.argv.indexOf('--output-dir');
const out = i > 0 ? process.argv[i + 1] : 'dist';
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(out + '/index.html', '<!doctype html><title>stub</title>');
console.log('stub expo export into ' + out);
`;

async function tarball(pkg: Pkg, dir: string): Promise<Buffer> {
  const root = mkdtempSync(join(dir, 'pkg-'));
  const { mkdirSync, chmodSync } = await import('node:fs');
  mkdirSync(join(root, 'package'));
  writeFileSync(join(root, 'package', 'package.json'), JSON.stringify({ name: pkg.name, version: pkg.version, ...(pkg.bin ? { bin: pkg.bin } : {}) }));
  for (const [file, { text, mode }] of Object.entries(pkg.files)) {
    writeFileSync(join(root, 'package', file), text);
    if (mode) chmodSync(join(root, 'package', file), mode);
  }
  const out = join(root, 'out.tgz');
  await createTar({ gzip: true, file: out, cwd: root, portable: true }, ['package']);
  return readFileSync(out);
}

/** `t`: a test context, or anything with `after` (the benchmarks' Scope). */
export async function startRegistryStandIn(t: { after(fn: () => void | Promise<void>): void }, packages: string[]): Promise<RegistryStandIn> {
  const dir = mkdtempSync(join(tmpdir(), 'buildmesh-registry-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pkgs: Pkg[] = [
    // 57: an SDK recent enough for EAS's frozen-lockfile install (npm ci).
    { name: 'expo', version: '57.0.0', files: { 'cli.js': { text: EXPO_STUB, mode: 0o755 } }, bin: { expo: 'cli.js' } },
    ...packages.map((name) => ({ name, version: '1.0.0', files: { 'index.js': { text: `module.exports = ${JSON.stringify(name)};\n` } } })),
  ];
  const tarballs = new Map<string, { bytes: Buffer; integrity: string; pkg: Pkg }>();
  for (const pkg of pkgs) {
    const bytes = await tarball(pkg, dir);
    tarballs.set(`/${pkg.name}/-/${pkg.name}-${pkg.version}.tgz`, { bytes, integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}`, pkg });
  }
  const fetches = new Map<string, number>();
  const server = createServer((req, res) => {
    const hit = tarballs.get(req.url ?? '');
    if (req.method === 'GET' && hit) {
      fetches.set(hit.pkg.name, (fetches.get(hit.pkg.name) ?? 0) + 1);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': hit.bytes.length });
      res.end(hit.bytes);
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":"not found"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    fetches,
    totalFetches: () => [...fetches.values()].reduce((a, b) => a + b, 0),
    project(deps, extra = {}) {
      const names = ['expo', ...deps];
      const versionOf = (n: string): string => (n === 'expo' ? '57.0.0' : '1.0.0');
      const dependencies = Object.fromEntries(names.map((n) => [n, versionOf(n)]));
      const lockPackages: Record<string, unknown> = { '': { name: 'app', version: '1.0.0', dependencies } };
      for (const name of names) {
        const entry = tarballs.get(`/${name}/-/${name}-${versionOf(name)}.tgz`);
        if (!entry) throw new Error(`the stand-in has no package ${name}`);
        lockPackages[`node_modules/${name}`] = {
          version: versionOf(name),
          resolved: `${url}/${name}/-/${name}-${versionOf(name)}.tgz`,
          integrity: entry.integrity,
          ...(entry.pkg.bin ? { bin: entry.pkg.bin } : {}),
        };
      }
      return {
        'package.json': JSON.stringify({ name: 'app', version: '1.0.0', dependencies, ...(extra.scripts ? { scripts: extra.scripts } : {}) }, null, 2),
        'package-lock.json': JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages: lockPackages }, null, 2),
        '.npmrc': `registry=${url}/\naudit=false\nfund=false\nupdate-notifier=false\n`,
      };
    },
  };
}
