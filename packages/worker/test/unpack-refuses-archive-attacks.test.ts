import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, readlink, lstat, rm, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { unpackSource, UnpackError, type UnpackErrorCode, type UnpackLimits } from '../src/workspace/unpack.js';

// A tiny tar writer: node-tar's creator refuses to produce most of these attacks, so headers are
// crafted by hand. A ustar header is one 512-byte block; numbers are octal text; the checksum is
// the byte sum of the header with the checksum field counted as eight spaces.
type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'fifo';
interface TarEntry {
  path: string;
  type?: EntryType;
  body?: Buffer | string;
  linkpath?: string;
  mode?: number;
}
const TYPEFLAG: Record<EntryType, string> = { file: '0', hardlink: '1', symlink: '2', char: '3', dir: '5', fifo: '6' };

function header(entry: TarEntry, size: number): Buffer {
  const block = Buffer.alloc(512);
  const put = (offset: number, length: number, value: string) => block.write(value, offset, length, 'utf8');
  const octal = (offset: number, length: number, n: number) => put(offset, length, n.toString(8).padStart(length - 1, '0') + '\0');
  const type = entry.type ?? 'file';
  put(0, 100, entry.path);
  octal(100, 8, entry.mode ?? (type === 'dir' ? 0o755 : 0o644));
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, 1_700_000_000);
  put(148, 8, ' '.repeat(8));
  put(156, 1, TYPEFLAG[type]);
  put(157, 100, entry.linkpath ?? '');
  put(257, 6, 'ustar\0');
  put(263, 2, '00');
  if (type === 'char') {
    octal(329, 8, 1); // /dev/null's major and minor
    octal(337, 8, 3);
  }
  let sum = 0;
  for (const byte of block) sum += byte;
  put(148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return block;
}

function tarball(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.body ?? '');
    blocks.push(header(entry, body.length), body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

const tgz = (entries: TarEntry[]) => gzipSync(tarball(entries));

let root: string;
before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'bm-unpack-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
  // The archive corpus: each refused case runs in its own tree (see assertRefused).
  console.log(`archive corpus: ${caseNumber} cases`);
});

/** Every path below `dir` with its content (or link target), to detect any write outside the destination. */
async function snapshot(dir: string, skip: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of await readdir(dir, { recursive: true })) {
    const abs = path.join(dir, name);
    if (abs === skip || abs.startsWith(skip + path.sep)) continue;
    const st = await lstat(abs);
    out.set(name, st.isSymbolicLink() ? `-> ${await readlink(abs)}` : st.isFile() ? await readFile(abs, 'utf8') : 'dir');
  }
  return out;
}

let caseNumber = 0;
/**
 * One attack per call, in its own tree: <case>/outside/victim.txt is what an escape would hit,
 * <case>/work/dest is the destination (so `../` reaches work/, `../../` reaches the case dir).
 */
async function assertRefused(code: UnpackErrorCode, build: (outside: string) => Buffer, limits?: Partial<UnpackLimits>) {
  const caseDir = path.join(root, `case-${++caseNumber}`);
  const outside = path.join(caseDir, 'outside');
  const dest = path.join(caseDir, 'work', 'dest');
  await mkdir(outside, { recursive: true });
  await mkdir(dest, { recursive: true });
  await writeFile(path.join(outside, 'victim.txt'), 'original');
  const archive = path.join(caseDir, 'source.tgz');
  await writeFile(archive, build(outside));
  const before = await snapshot(caseDir, dest);

  await assert.rejects(unpackSource(archive, dest, limits), (err: unknown) => {
    assert.ok(err instanceof UnpackError, `expected UnpackError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
  assert.deepEqual(await snapshot(caseDir, dest), before, 'something outside the destination changed');
  assert.deepEqual(await readdir(dest), [], 'the destination must be left empty');
}

const harmless = (n: number): TarEntry[] => Array.from({ length: n }, (_, i) => ({ path: `src/file-${i}.txt`, body: `file ${i}` }));

void test('entries with .. components are refused', async () => {
  await assertRefused('ARCHIVE_PATH_TRAVERSAL', () => tgz([...harmless(2), { path: '../evil.txt', body: 'pwned' }]));
  await assertRefused('ARCHIVE_PATH_TRAVERSAL', () => tgz([{ path: 'src/../../../outside/victim.txt', body: 'pwned' }]));
});

void test('absolute paths are refused, not made relative', async () => {
  await assertRefused('ARCHIVE_ABSOLUTE_PATH', (outside) => tgz([...harmless(1), { path: path.join(outside, 'abs-evil.txt'), body: 'pwned' }]));
});

void test('a symlink pointing outside is refused, and nothing is written through it', async () => {
  await assertRefused('ARCHIVE_LINK_ESCAPES', () =>
    tgz([{ path: 'escape', type: 'symlink', linkpath: '../../outside' }, { path: 'escape/victim.txt', body: 'pwned' }]),
  );
  await assertRefused('ARCHIVE_LINK_ESCAPES', (outside) =>
    tgz([{ path: 'escape', type: 'symlink', linkpath: outside }, { path: 'escape/victim.txt', body: 'pwned' }]),
  );
});

void test('a symlink that only escapes through a later symlink is refused', async () => {
  // `c -> a/b/..` looks like `a` until `a/b -> ..` arrives; then c is the destination's parent.
  await assertRefused('ARCHIVE_LINK_ESCAPES', () =>
    tgz([
      { path: 'a/', type: 'dir' },
      { path: 'c', type: 'symlink', linkpath: 'a/b/..' },
      { path: 'a/b', type: 'symlink', linkpath: '..' },
    ]),
  );
});

void test('writing through a symlink of the archive is refused even when the link stays inside', async () => {
  await assertRefused('ARCHIVE_PATH_THROUGH_SYMLINK', () =>
    tgz([{ path: 'real/', type: 'dir' }, { path: 'alias', type: 'symlink', linkpath: 'real' }, { path: 'alias/file.txt', body: 'x' }]),
  );
});

void test('hard links to files outside the archive are refused', async () => {
  await assertRefused('ARCHIVE_LINK_ESCAPES', () => tgz([{ path: 'passwd', type: 'hardlink', linkpath: '/etc/passwd' }]));
  // Link then overwrite: with a naive extractor (and root), the second entry rewrites the victim.
  await assertRefused('ARCHIVE_LINK_ESCAPES', (outside) =>
    tgz([{ path: 'victim', type: 'hardlink', linkpath: path.join(outside, 'victim.txt') }, { path: 'victim', body: 'pwned' }]),
  );
  await assertRefused('ARCHIVE_LINK_ESCAPES', () =>
    tgz([{ path: 'victim', type: 'hardlink', linkpath: '../../outside/victim.txt' }, { path: 'victim', body: 'pwned' }]),
  );
});

void test('device files and FIFOs are refused', async () => {
  await assertRefused('ARCHIVE_SPECIAL_FILE', () => tgz([...harmless(1), { path: 'null', type: 'char' }]));
  await assertRefused('ARCHIVE_SPECIAL_FILE', () => tgz([...harmless(1), { path: 'pipe', type: 'fifo' }]));
});

void test('a decompression bomb is stopped by the bytes actually decompressed', async () => {
  const zeros = Buffer.alloc(5 * 1024 * 1024);
  await assertRefused('ARCHIVE_TOO_LARGE', () => tgz([...harmless(1), { path: 'zeros.bin', body: zeros }]), { maxBytes: 1024 * 1024 });
  // The header may lie about nothing here, but many small entries add up just the same.
  await assertRefused('ARCHIVE_TOO_LARGE', () => tgz(Array.from({ length: 40 }, (_, i) => ({ path: `z${i}`, body: zeros.subarray(0, 64 * 1024) }))), {
    maxBytes: 1024 * 1024,
  });
});

void test('too many entries are refused', async () => {
  await assertRefused('ARCHIVE_TOO_MANY_ENTRIES', () => tgz(harmless(50)), { maxEntries: 10 });
});

void test('200k entries and one more are refused with the default limits', async () => {
  // Symlinks: the check happens before anything is written, so the case costs parsing only.
  const many = Array.from({ length: 200_001 }, (_, i): TarEntry => ({ path: `l${i}`, type: 'symlink', linkpath: 'target' }));
  await assertRefused('ARCHIVE_TOO_MANY_ENTRIES', () => gzipSync(tarball(many), { level: 1 }));
});

void test('data after the end-of-archive marker is refused', async () => {
  await assertRefused('ARCHIVE_TRAILING_DATA', () => gzipSync(Buffer.concat([tarball(harmless(2)), Buffer.from('smuggled bytes')])));
  await assertRefused('ARCHIVE_TRAILING_DATA', () => gzipSync(Buffer.concat([tarball(harmless(2)), tarball([{ path: 'hidden.txt', body: 'x' }])])));
  await assertRefused('ARCHIVE_TRAILING_DATA', () => gzipSync(Buffer.concat([tarball(harmless(1)), Buffer.alloc(4 * 1024 * 1024)])));
});

void test('truncated or corrupt archives are refused', async () => {
  const good = tgz(harmless(20).map((e) => ({ ...e, body: String(e.body).repeat(500) })));
  await assertRefused('ARCHIVE_CORRUPT', () => good.subarray(0, Math.floor(good.length / 2)));
  const tar = tarball(harmless(3).map((e) => ({ ...e, body: String(e.body).repeat(300) })));
  await assertRefused('ARCHIVE_CORRUPT', () => gzipSync(tar.subarray(0, 512 + 700))); // tar cut inside a file
  await assertRefused('ARCHIVE_CORRUPT', () => gzipSync(tar.subarray(0, 512 + 2048))); // cut right after an entry
  const badChecksum = Buffer.from(tar);
  badChecksum[0] = 'X'.charCodeAt(0);
  await assertRefused('ARCHIVE_CORRUPT', () => gzipSync(badChecksum));
  await assertRefused('ARCHIVE_CORRUPT', () => Buffer.from('this is not a gzip file at all'));
});

void test('a benign archive with internal links extracts exactly, from a file or a stream', async () => {
  const entries: TarEntry[] = [
    { path: './', type: 'dir' },
    { path: 'app/', type: 'dir' },
    { path: 'app/index.js', body: 'console.log("hi")\n' },
    { path: 'app/run.sh', body: '#!/bin/sh\necho run\n', mode: 0o755 },
    { path: 'app/same.js', type: 'hardlink', linkpath: 'app/index.js' },
    { path: 'alias', type: 'symlink', linkpath: 'app' },
    { path: 'app/up', type: 'symlink', linkpath: '..' },
    { path: 'app/later', type: 'symlink', linkpath: '../assets/logo.txt' }, // target arrives afterwards
    { path: 'assets/logo.txt', body: 'logo' },
  ];
  const bytes = tgz(entries);
  for (const input of ['file', 'stream'] as const) {
    const dest = path.join(root, `benign-${input}`);
    const archive = path.join(root, 'benign.tgz');
    await writeFile(archive, bytes);
    const result = await unpackSource(input === 'file' ? archive : Readable.from([bytes]), dest);
    assert.deepEqual(result, { entries: entries.length, bytes: 18 + 19 + 4 });
    assert.equal(await readFile(path.join(dest, 'alias/index.js'), 'utf8'), 'console.log("hi")\n');
    assert.equal(await readlink(path.join(dest, 'alias')), 'app');
    assert.equal(await readFile(path.join(dest, 'app/later'), 'utf8'), 'logo');
    assert.equal(await readFile(path.join(dest, 'app/up/assets/logo.txt'), 'utf8'), 'logo');
    const [original, linked] = await Promise.all([lstat(path.join(dest, 'app/index.js')), lstat(path.join(dest, 'app/same.js'))]);
    assert.equal(linked.ino, original.ino, 'hard link shares the inode');
    assert.equal((await lstat(path.join(dest, 'app/run.sh'))).mode & 0o777, 0o755);
  }
});

void test('a non-empty destination is refused and left alone', async () => {
  const dest = path.join(root, 'not-empty');
  await mkdir(dest);
  await writeFile(path.join(dest, 'keep.txt'), 'mine');
  await assert.rejects(unpackSource(Readable.from([tgz(harmless(1))]), dest), { code: 'DESTINATION_NOT_EMPTY' });
  assert.deepEqual(await readdir(dest), ['keep.txt']);
});
