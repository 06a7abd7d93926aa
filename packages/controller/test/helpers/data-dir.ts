import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Every file under dir (recursive), as paths relative to dir. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath, entry.name).slice(dir.length + 1));
  }
  return out.sort();
}

/** The stored blobs (sha256 names) and the upload temp files of a controller's data dir. */
export async function blobState(dataDir: string): Promise<{ blobs: string[]; tmp: string[] }> {
  const files = await listFiles(join(dataDir, 'blobs'));
  return {
    blobs: files.filter((f) => f.startsWith('sha256/')).map((f) => f.split('/').pop()!),
    tmp: files.filter((f) => f.startsWith('tmp/')),
  };
}

/** Files under dir whose bytes contain any needle; returns [file, needle] pairs. */
export async function filesContaining(dir: string, needles: Buffer[]): Promise<Array<[string, string]>> {
  const hits: Array<[string, string]> = [];
  for (const file of await listFiles(dir)) {
    const bytes = await readFile(join(dir, file));
    for (const needle of needles) if (bytes.includes(needle)) hits.push([file, needle.toString('utf8')]);
  }
  return hits;
}
