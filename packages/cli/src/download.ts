/**
 * Downloads a build's artifacts: each file streams to `.<name>.part` while its sha256 is computed
 * (flushed to disk as it goes: DurableWriter), and is renamed to its name only once it is on disk and
 * its size and sha256 match what the controller recorded. An
 * interrupted download resumes from the `.part` file with an HTTP Range request; a file already
 * present with the right sha256 is not fetched again. While the controller is away (a restart),
 * each call is retried with the shared policy and the "connection lost — retrying (n)" notice,
 * the file resuming from its `.part` each time.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DurableWriter, SHA256_HEADER, type Artifact, type BuildMeshClient, type StreamedAnswer } from '@buildmesh/protocol';
import { CliError } from './output.js';
import { createProgress } from './progress.js';
import { retryWithNotice, type RetryNotice } from './reconnect.js';

export interface DownloadedArtifact {
  id: string;
  name: string;
  kind: Artifact['kind'];
  attemptNumber: number;
  /** Absolute path of the verified file. */
  path: string;
  size: number;
  sha256: string;
  /** Always true: an artifact that fails verification is an error, never a result. */
  verified: true;
  /** True when the file was already there with the right sha256 and was not fetched again. */
  alreadyPresent: boolean;
}

export interface DownloadOptions {
  /** Only this attempt's artifacts (default: the latest attempt that uploaded any). */
  attempt?: number;
  /** Show a progress bar on stderr. */
  progress?: boolean;
  signal?: AbortSignal;
  /** What to show while the controller is away (default: the notice on stderr). */
  notice?: RetryNotice;
}

/** The artifacts a download takes: one attempt's (the latest with any, unless one is named). */
export function selectArtifacts(artifacts: readonly Artifact[], attempt?: number): Artifact[] {
  const chosen = attempt ?? Math.max(0, ...artifacts.map((a) => a.attemptNumber));
  return artifacts.filter((a) => a.attemptNumber === chosen);
}

export async function downloadBuildArtifacts(
  client: BuildMeshClient,
  buildId: string,
  outputDir: string,
  options: DownloadOptions = {},
): Promise<DownloadedArtifact[]> {
  const retry = { signal: options.signal, notice: options.notice };
  const { artifacts } = await retryWithNotice(() => client.listArtifacts(buildId), retry);
  const chosen = selectArtifacts(artifacts, options.attempt);
  const dir = resolve(outputDir);
  await mkdir(dir, { recursive: true });
  const results: DownloadedArtifact[] = [];
  // A retried download resumes from its .part file.
  for (const artifact of chosen) results.push(await retryWithNotice(() => downloadArtifact(client, artifact, dir, options), retry));
  return results;
}

/** The artifact's file name, refused when it could land outside the output directory. */
function safeFileName(name: string): string {
  if (name !== basename(name) || name.includes('\\') || name.startsWith('.') || name === '') {
    throw new CliError('UNSAFE_ARTIFACT_NAME', `refusing artifact name ${JSON.stringify(name)}`, 'report this: the controller should never send it');
  }
  return name;
}

async function hashFile(path: string, hash: Hash): Promise<number> {
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return size;
}

async function existingSize(path: string): Promise<number | null> {
  const s = await stat(path).catch(() => null);
  return s?.isFile() ? s.size : null;
}

export async function downloadArtifact(
  client: BuildMeshClient,
  artifact: Artifact,
  outputDir: string,
  options: DownloadOptions = {},
): Promise<DownloadedArtifact> {
  const fileName = safeFileName(artifact.name);
  const finalPath = join(outputDir, fileName);
  // Hidden: no artifact's own name starts with a dot (safeFileName), so an artifact named `x.part` never
  // collides with the partial file of `x` (which a resume would take for its own and remove).
  const partPath = join(outputDir, `.${fileName}.part`);
  const result = (alreadyPresent: boolean): DownloadedArtifact => ({
    id: artifact.id,
    name: artifact.name,
    kind: artifact.kind,
    attemptNumber: artifact.attemptNumber,
    path: finalPath,
    size: artifact.size,
    sha256: artifact.sha256,
    verified: true,
    alreadyPresent,
  });

  // Already downloaded (a re-run of `download`, or `build` then `download`)?
  if ((await existingSize(finalPath)) === artifact.size) {
    const hash = createHash('sha256');
    await hashFile(finalPath, hash);
    if (hash.digest('hex') === artifact.sha256) return result(true);
  }

  // Resume from a partial file: its bytes are hashed first, then the rest is requested.
  const hash = createHash('sha256');
  let offset = 0;
  const partSize = await existingSize(partPath);
  if (partSize !== null && partSize > 0 && partSize < artifact.size) offset = await hashFile(partPath, hash);

  const response = await client.downloadArtifact(artifact.buildId, artifact.id, {
    ...(offset > 0 ? { range: `bytes=${offset}-` } : {}),
    signal: options.signal,
  });
  if (offset > 0 && response.status !== 206) {
    // The server ignored the range and sent the whole file: start over from byte 0.
    await response.cancel();
    return restart();
  }
  return write(response, hash, offset);

  async function restart(): Promise<DownloadedArtifact> {
    await rm(partPath, { force: true });
    const full = await client.downloadArtifact(artifact.buildId, artifact.id, { signal: options.signal });
    return write(full, createHash('sha256'), 0);
  }

  async function write(res: StreamedAnswer, digest: Hash, start: number): Promise<DownloadedArtifact> {
    const declared = res.header(SHA256_HEADER);
    if (declared && declared !== artifact.sha256) {
      await res.cancel();
      throw new CliError('CHECKSUM_MISMATCH', `${artifact.name}: the download's sha256 header differs from the artifact record`, 'retry the download; if it persists, check the controller');
    }
    let file: FileHandle;
    try {
      file = await open(partPath, start > 0 ? 'a' : 'w', 0o644);
    } catch (err) {
      await res.cancel();
      throw err;
    }
    const writer = new DurableWriter(file);
    const progress = options.progress ? createProgress(`downloading ${artifact.name}`, artifact.size) : null;
    let bytes = start;
    // Counted, hashed and written with write-behind flushing; on disk (final) before it is renamed into place,
    // so a crash never leaves a verified name on missing bytes.
    const sink = new Writable({
      highWaterMark: 1024 * 1024,
      writev(chunks: Array<{ chunk: Buffer }>, done) {
        const buffers = chunks.map((c) => c.chunk);
        for (const chunk of buffers) {
          bytes += chunk.length;
          if (bytes > artifact.size) {
            done(new CliError('SIZE_MISMATCH', `${artifact.name}: more bytes than the recorded ${artifact.size}`, 'retry the download'));
            return;
          }
          digest.update(chunk);
        }
        progress?.update(bytes);
        writer.write(buffers).then(() => done(), done);
      },
      final(done) {
        writer.sync().then(() => done(), done);
      },
    });
    try {
      await pipeline(res.body, sink, { signal: options.signal });
    } catch (err) {
      progress?.fail();
      // A cut-off transfer keeps its .part for a resume; a wrong one is removed, and so is one whose
      // flush to disk failed (a resume would hash its bytes from the page cache and call them verified).
      if (err instanceof CliError || writer.failed) await rm(partPath, { force: true });
      throw err;
    } finally {
      await file.close();
    }
    const sha256 = digest.digest('hex');
    if (bytes !== artifact.size || sha256 !== artifact.sha256) {
      progress?.fail();
      await rm(partPath, { force: true });
      // A resumed file whose old part was not this artifact's: fetch it whole, once.
      if (start > 0) return restart();
      throw new CliError(
        'CHECKSUM_MISMATCH',
        `${artifact.name}: got ${bytes} bytes with sha256 ${sha256}, expected ${artifact.size} bytes with ${artifact.sha256}`,
        'the partial file was removed; retry the download',
      );
    }
    await rename(partPath, finalPath);
    progress?.done(`downloaded ${artifact.name} (sha256 verified)`);
    return result(false);
  }
}
