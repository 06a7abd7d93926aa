/**
 * Collects a build's artifacts by glob and uploads them as streams with size and
 * sha256.
 *
 *  - Globs are relative to the project directory (a monorepo's app folder; leading `../` may
 *    lead up to the source root, never beyond): for a custom config the profile's
 *    `applicationArchivePath` (kind application-archive) and `buildArtifactPaths`
 *    (kind build-artifacts); the Expo pipelines return their own (with EAS's
 *    per-platform defaults). Symbolic links are never followed, and every match
 *    must really be inside the project.
 *  - A matched directory (a web `dist/`, an iOS simulator `.app`) is packed here,
 *    into `<name>.tar.gz` in the workspace's tmp directory, so pipelines only need
 *    to name what they produce.
 *  - The sha256 is computed while reading the file from disk (the controller
 *    needs it in a header before the body), then the file is streamed up.
 *  - An .ipa application archive goes up with what its Info.plist says (ipa-info.ts), for the
 *    controller's iOS install manifest; when that cannot be read the log says why.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { create as createTar } from 'tar';
import { glob } from 'tinyglobby';
import type { ArtifactKind, BuildMeshClient, IosAppInfo, ResolvedProfile } from '@buildmesh/protocol';
import { describeError, isLeaseLost, retryForAttempt } from '../retry.js';
import { BuildFailure } from './build-failure.js';
import { isInside } from './paths.js';
import { readIpaInfo } from './ipa-info.js';
import type { ArtifactPaths } from './plan.js';

export interface ArtifactSpec {
  kind: ArtifactKind;
  patterns: string[];
  /** No match is a failure (ARTIFACT_NOT_FOUND) rather than nothing to upload. */
  required: boolean;
}

export interface ArtifactFile {
  kind: ArtifactKind;
  /** Upload name (safe for URLs and download folders). */
  name: string;
  /** Absolute path of the file to upload (a tarball for a directory). */
  path: string;
  size: number;
  sha256: string;
  /** An .ipa's Info.plist facts. */
  app?: IosAppInfo;
}

export type { ArtifactPaths };

/** A custom config's artifacts are what the profile names (the Expo pipelines bring their own defaults). */
export function profileArtifactPaths(profile: ResolvedProfile): ArtifactPaths {
  return {
    applicationArchive: profile.applicationArchivePath ? [profile.applicationArchivePath] : [],
    buildArtifacts: profile.buildArtifactPaths ?? [],
  };
}

/** The application archive is required when named; build artifacts are collected when present. */
export function artifactSpecs(paths: ArtifactPaths): ArtifactSpec[] {
  const specs: ArtifactSpec[] = [];
  if (paths.applicationArchive.length) specs.push({ kind: 'application-archive', patterns: paths.applicationArchive, required: true });
  if (paths.buildArtifacts.length) specs.push({ kind: 'build-artifacts', patterns: paths.buildArtifacts, required: false });
  return specs;
}

/**
 * The project-relative paths the patterns match, files and directories, without
 * following symlinks, outside paths refused, entries inside a matched directory dropped.
 * `rootDir` (a monorepo's source root, above the app's folder) is how far leading `../`
 * segments may lead, as EAS resolves such globs from the app; `..` anywhere else is refused.
 */
export async function matchArtifacts(projectDir: string, patterns: string[], rootDir: string = projectDir): Promise<string[]> {
  const byBase = new Map<string, string[]>();
  for (const pattern of patterns) {
    const ups = /^(?:\.\.\/)*/.exec(pattern)![0];
    const rest = pattern.slice(ups.length);
    const base = resolve(projectDir, ups || '.');
    if (pattern.startsWith('/') || rest === '' || rest.split('/').includes('..') || !isInside(rootDir, base)) {
      throw new BuildFailure('ARTIFACT_NOT_FOUND', `artifact path "${pattern}" must be relative to the project and stay inside ${rootDir === projectDir ? 'it' : 'the source'}`);
    }
    byBase.set(ups, [...(byBase.get(ups) ?? []), rest]);
  }
  const matches: string[] = [];
  for (const [ups, rests] of byBase) {
    const found = await glob(rests, {
      cwd: resolve(projectDir, ups || '.'),
      dot: true,
      onlyFiles: false,
      followSymbolicLinks: false,
      expandDirectories: false,
    });
    matches.push(...found.map((m) => `${ups}${m}`));
  }
  const realRoot = await realpath(rootDir);
  const kept: string[] = [];
  for (const match of [...new Set(matches.map((m) => m.replace(/\/+$/, '')))].sort()) {
    const absolute = resolve(projectDir, match);
    if (!isInside(rootDir, absolute)) continue;
    const stat = await lstat(absolute).catch(() => undefined);
    // A link is not followed: not even one pointing inside (its target is matched on its own).
    if (!stat || stat.isSymbolicLink() || !(stat.isFile() || stat.isDirectory())) continue;
    if (!isInside(realRoot, await realpath(absolute))) continue;
    // Sorted, so a directory comes before anything inside it.
    if (kept.some((dir) => match.startsWith(`${dir}/`))) continue;
    kept.push(match);
  }
  return kept;
}

/** A name the artifact routes accept: no separators, no leading dot, bounded. */
export function artifactName(path: string, taken: Set<string>): string {
  let base = basename(path).replace(/[^A-Za-z0-9._+-]/g, '_').replace(/^[._]+/, '');
  if (!base) base = 'artifact';
  base = base.slice(0, 180);
  let name = base;
  for (let n = 2; taken.has(name); n++) {
    const dot = base.indexOf('.', 1);
    name = dot > 0 ? `${base.slice(0, dot)}-${n}${base.slice(dot)}` : `${base}-${n}`;
  }
  taken.add(name);
  return name;
}

function hashingPassThrough(hash: ReturnType<typeof createHash>, counter: { bytes: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      counter.bytes += chunk.length;
      callback(null, chunk);
    },
  });
}

/** sha256 and size of a file, read as a stream. */
export async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Packs a directory into `<outDir>/<name>` (tar.gz, links stored as links), hashing while writing. */
export async function packDirectory(dir: string, outFile: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  const counter = { bytes: 0 };
  const pack = createTar({ gzip: true, cwd: dirname(dir), portable: true, follow: false }, [basename(dir)]);
  await pipeline(pack, hashingPassThrough(hash, counter), createWriteStream(outFile, { mode: 0o600 }));
  return { sha256: hash.digest('hex'), size: counter.bytes };
}

/**
 * Resolves the specs to files ready to upload (directories packed into tmpDir).
 * Throws ARTIFACT_NOT_FOUND when a required spec matches nothing.
 */
export async function collectArtifacts(projectDir: string, tmpDir: string, specs: ArtifactSpec[], log: (text: string) => void, rootDir: string = projectDir): Promise<ArtifactFile[]> {
  const files: ArtifactFile[] = [];
  const taken = new Set<string>();
  for (const spec of specs) {
    const matches = await matchArtifacts(projectDir, spec.patterns, rootDir);
    if (matches.length === 0) {
      if (spec.required) {
        throw new BuildFailure('ARTIFACT_NOT_FOUND', `no file matches the ${spec.kind} path${spec.patterns.length > 1 ? 's' : ''} ${spec.patterns.map((p) => `"${p}"`).join(', ')}`);
      }
      log(`no file matches the ${spec.kind} paths ${spec.patterns.join(', ')}`);
      continue;
    }
    for (const match of matches) {
      const absolute = join(projectDir, match);
      const stat = await lstat(absolute);
      if (stat.isDirectory()) {
        const name = artifactName(`${match}.tar.gz`, taken);
        const out = join(tmpDir, `artifact-${files.length}-${name}`);
        log(`packing directory ${match} into ${name}`);
        files.push({ kind: spec.kind, name, path: out, ...(await packDirectory(absolute, out)) });
      } else {
        const name = artifactName(match, taken);
        let app: IosAppInfo | undefined;
        if (spec.kind === 'application-archive' && name.toLowerCase().endsWith('.ipa')) {
          const info = await readIpaInfo(absolute);
          if (info.app) app = info.app;
          else log(`${name}: no iOS install manifest for it, because ${info.problem}`);
        }
        files.push({ kind: spec.kind, name, path: absolute, ...(await hashFile(absolute)), ...(app ? { app } : {}) });
      }
    }
  }
  return files;
}

/**
 * Uploads one file. Transient failures (the controller restarting, a connection cut mid-body)
 * send the whole file again from its start, with the shared backoff, until the attempt stops or
 * its lease is lost: the controller records an artifact only once all of its bytes arrived and
 * matched their sha256, so a cut-off try leaves nothing visible. Lease loss ends the attempt at once.
 */
export async function uploadArtifact(client: BuildMeshClient, attemptId: string, file: ArtifactFile, signal: AbortSignal, log: (text: string) => void): Promise<void> {
  try {
    await retryForAttempt(
      () =>
        client.uploadArtifact(
          attemptId,
          { name: file.name, kind: file.kind, size: file.size, sha256: file.sha256, stream: createReadStream(file.path, { highWaterMark: 1024 * 1024 }), ...(file.app ? { app: file.app } : {}) },
          signal,
        ),
      signal,
      { onRetry: (err, failures) => log(`uploading ${file.name} failed (${describeError(err)}); retrying (${failures})`) },
    );
  } catch (err) {
    if (signal.aborted || isLeaseLost(err)) throw err;
    throw new BuildFailure('ARTIFACT_UPLOAD_FAILED', `uploading ${file.name} failed: ${describeError(err)}`, { cause: err });
  }
}

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
}

/** Collects and uploads; each upload is logged with its size and sha256. */
export async function collectAndUpload(options: {
  client: BuildMeshClient;
  attemptId: string;
  projectDir: string;
  /** A monorepo's source root: leading `../` in a pattern may lead up to it (default projectDir). */
  rootDir?: string;
  tmpDir: string;
  specs: ArtifactSpec[];
  signal: AbortSignal;
  log: (text: string) => void;
}): Promise<ArtifactFile[]> {
  const files = await collectArtifacts(options.projectDir, options.tmpDir, options.specs, options.log, options.rootDir);
  for (const file of files) {
    await uploadArtifact(options.client, options.attemptId, file, options.signal, options.log);
    options.log(`uploaded ${file.kind} ${file.name} (${formatSize(file.size)}, sha256 ${file.sha256})`);
  }
  return files;
}
