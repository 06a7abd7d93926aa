/**
 * A valid tar, its end-of-archive marker, then 4 GiB of gzip'd zeros (a 4.4 MB upload): the
 * unpacker stops at the marker and refuses what follows with ARCHIVE_TRAILING_DATA, after reading
 * a small part of the upload — it never decompresses to the end. Also: ratio bombs, the time cap,
 * and that real tar padding after the marker is still accepted.
 *
 * The 4 GiB member is built without compressing 4 GiB: a raw deflate of 1 MiB of zeros ended with
 * a full flush starts from an empty dictionary and leaves none behind, so repeating it N times is
 * a valid deflate stream of N MiB of zeros (checked against zlib for a small N).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { constants, crc32, deflateRawSync, gunzipSync, gzipSync } from 'node:zlib';
import { unpackSource, UnpackError, type UnpackErrorCode, type UnpackLimits } from '../src/workspace/unpack.js';

const MIB = 1024 * 1024;
/** zlib.crc32 of 4096 MiB of zeros: computing it here would take seconds. */
const CRC32_OF_4GIB_ZEROS = 3523407757;

/** A gzip member holding `mib` MiB of zeros, with a correct CRC and size. */
function zerosMember(mib: number, crc: number): Buffer {
  const piece = deflateRawSync(Buffer.alloc(MIB), { level: 9, finishFlush: constants.Z_FULL_FLUSH });
  const final = deflateRawSync(Buffer.alloc(0)); // an empty final block
  const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE((mib * MIB) % 2 ** 32, 4);
  return Buffer.concat([header, ...Array.from({ length: mib }, () => piece), final, trailer]);
}

/** One ustar header block (see unpack-refuses-archive-attacks.test.ts for the format). */
function header(name: string, size: number): Buffer {
  const block = Buffer.alloc(512);
  const octal = (offset: number, length: number, n: number) => block.write(n.toString(8).padStart(length - 1, '0') + '\0', offset, length);
  block.write(name, 0, 100);
  octal(100, 8, 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, 1_700_000_000);
  block.write(' '.repeat(8), 148, 8);
  block.write('0', 156, 1);
  block.write('ustar\0', 257, 6);
  block.write('00', 263, 2);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return block;
}

/** A small valid tar with one file, ending with its two zero blocks. */
function smallTar(): Buffer {
  const body = Buffer.from('export default 42;\n');
  return Buffer.concat([header('src/index.js', body.length), body, Buffer.alloc(512 - body.length), Buffer.alloc(1024)]);
}

let root: string;
let n = 0;
before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'bm-trailing-'));
});
after(() => rm(root, { recursive: true, force: true }));

/** Unpacks `archive`, counting the compressed bytes the unpacker pulled from it. */
async function unpack(archive: Buffer | Readable, limits?: Partial<UnpackLimits>): Promise<{ error?: UnpackError; readBytes: number; ms: number; dest: string }> {
  const dest = path.join(root, `dest-${++n}`);
  let readBytes = 0;
  let source: Readable;
  if (Buffer.isBuffer(archive)) {
    const file = path.join(root, `archive-${n}.tgz`);
    await writeFile(file, archive);
    source = createReadStream(file, { highWaterMark: 64 * 1024 });
  } else source = archive;
  // Counted where the unpacker pulls, not where the file is read ahead.
  const counted = source.pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        readBytes += chunk.length;
        callback(null, chunk);
      },
    }),
  );
  const started = performance.now();
  try {
    await unpackSource(counted, dest, limits);
    return { readBytes, ms: performance.now() - started, dest };
  } catch (err) {
    const pulled = readBytes;
    source.destroy();
    assert.ok(err instanceof UnpackError, `expected an UnpackError, got ${String(err)}`);
    return { error: err, readBytes: pulled, ms: performance.now() - started, dest };
  }
}

function assertCode(result: { error?: UnpackError }, code: UnpackErrorCode): void {
  assert.equal(result.error?.code, code, result.error?.message ?? 'the archive was accepted');
}

void test('the zeros member is valid gzip (control for the construction)', () => {
  const zeros = Buffer.alloc(3 * MIB);
  assert.deepEqual(gunzipSync(zerosMember(3, crc32(zeros))), zeros);
});

void test('a valid tar followed by 4 GiB of gzip zeros is refused after reading a small part of it', async () => {
  const bomb = Buffer.concat([gzipSync(smallTar()), zerosMember(4096, CRC32_OF_4GIB_ZEROS)]);
  assert.ok(bomb.length > 4 * MIB && bomb.length < 5 * MIB, `upload of ${bomb.length} bytes`);
  const result = await unpack(bomb);
  assertCode(result, 'ARCHIVE_TRAILING_DATA');
  // "At once": it stopped about 1 MiB of zeros past the marker, not after 4 GiB.
  assert.ok(result.readBytes < bomb.length / 4, `read ${result.readBytes} of ${bomb.length} bytes`);
  assert.deepEqual(await readdir(result.dest), [], 'nothing of the refused archive is left');
  console.log(`trailing-data bomb: ${bomb.length} bytes uploaded, refused after reading ${result.readBytes} in ${result.ms.toFixed(0)} ms`);
});

void test('non-zero bytes after the end marker are refused, even a few', async () => {
  assertCode(await unpack(gzipSync(Buffer.concat([smallTar(), Buffer.from('#!/bin/sh\necho smuggled\n')]))), 'ARCHIVE_TRAILING_DATA');
  // A second tar hidden after the first one's end marker is trailing data too.
  assertCode(await unpack(gzipSync(Buffer.concat([smallTar(), smallTar()]))), 'ARCHIVE_TRAILING_DATA');
});

void test('the zero padding tar writes after the marker is accepted', async () => {
  // GNU tar pads to 10 KiB records; with a blocking factor of 64, to 32 KiB.
  for (const padding of [0, 9 * 1024, 31 * 1024]) {
    const result = await unpack(gzipSync(Buffer.concat([smallTar(), Buffer.alloc(padding)])));
    assert.equal(result.error, undefined, `padding ${padding}: ${result.error?.message}`);
  }
});

void test('a file of zeros inside the archive is refused by the compression ratio', async () => {
  const size = 64 * MIB;
  const zeros = zerosMember(64, crc32(Buffer.alloc(size)));
  const bomb = Buffer.concat([gzipSync(header('zeros.bin', size)), zeros, gzipSync(Buffer.alloc(1024))]);
  const result = await unpack(bomb);
  assertCode(result, 'ARCHIVE_TOO_LARGE');
  assert.match(result.error?.message ?? '', /times its compressed size/);
});

void test('an unpack that does not finish in time is refused', async () => {
  const stalled = new Readable({ read() {} });
  stalled.push(gzipSync(smallTar()).subarray(0, 20)); // a gzip header, then nothing more
  const result = await unpack(stalled, { maxMs: 200 });
  assertCode(result, 'ARCHIVE_TOO_SLOW');
});
