import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { create } from 'tar';
import type { CreateBuildSpec } from '@buildmesh/protocol';

/** A tiny real tar.gz source, made once and reused by every submit. */
export async function tinySource(files: Record<string, string> = { 'package.json': '{"name":"bench"}\n' }): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'buildmesh-bench-src-'));
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    const chunks: Buffer[] = [];
    for await (const chunk of create({ gzip: true, cwd: dir, portable: true }, Object.keys(files))) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const streamOf = (buf: Buffer) => Readable.from([buf]);

export const benchSpec = (extra: Partial<CreateBuildSpec> = {}): CreateBuildSpec => ({
  project: 'bench',
  platform: 'web',
  profile: { name: 'bench', env: {} },
  ...extra,
});

/** `size` bytes of incompressible-looking data, generated as it is read (never all in memory). */
export function patternStream(size: number, chunkSize = 1024 * 1024): Readable {
  const chunk = Buffer.alloc(chunkSize);
  for (let i = 0; i < chunkSize; i += 4) chunk.writeUInt32LE((Math.imul(i, 2654435761) ^ 0x9e3779b9) >>> 0, i);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const n = Math.min(chunkSize, size - sent);
      sent += n;
      this.push(n === chunkSize ? chunk : chunk.subarray(0, n));
    },
  });
}
