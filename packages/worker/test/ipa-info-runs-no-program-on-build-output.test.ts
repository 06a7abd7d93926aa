/**
 * An .ipa is build output, read by the worker outside the sandbox (as root on a bwrap worker): its
 * Info.plist is read in-process, never by running a program (a C archive parser) on the hostile bytes.
 * Hostile archives (damaged, pointing outside themselves, encrypted, bombs, links) give no app info
 * and a reason, never a failure or a hang.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { skipUnless } from '../../../test/helpers/system-services.js';
import { readIpaInfo } from '../src/runner/ipa-info.js';
import { buildPlist } from '../src/pipelines/plist.js';
import { tempDir } from './support/runner-fixtures.js';

const hasZip = spawnSync('zip', ['-v'], { stdio: 'ignore' }).status === 0;
const skip = skipUnless(hasZip, 'zip is not installed (Debian: apt-get install zip)');

const INFO = buildPlist({ CFBundleIdentifier: 'com.example.shop', CFBundleShortVersionString: '2.3.0', CFBundleVersion: '45', CFBundleName: 'Shop' });

void test('reading an .ipa runs no program: an unzip on PATH is never started', { skip }, async (t) => {
  const dir = tempDir(t);
  const root = join(dir, 'src');
  mkdirSync(join(root, 'Payload/Shop.app'), { recursive: true });
  writeFileSync(join(root, 'Payload/Shop.app/Info.plist'), INFO);
  const ipa = join(dir, 'Shop.ipa');
  execFileSync('zip', ['-q', '-r', '-X', ipa, 'Payload'], { cwd: root });

  // A PATH whose unzip (and zipinfo) records that it ran.
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const marker = join(dir, 'ran');
  for (const name of ['unzip', 'zipinfo']) {
    writeFileSync(join(bin, name), `#!/bin/sh\necho "$0 $*" >> '${marker}'\nexit 1\n`);
    chmodSync(join(bin, name), 0o755);
  }
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path ?? ''}`;
  try {
    assert.deepEqual(await readIpaInfo(ipa), { app: { bundleId: 'com.example.shop', version: '2.3.0', build: '45', title: 'Shop' } });
  } finally {
    process.env.PATH = path;
  }
  assert.equal(existsSync(marker) ? readFileSync(marker, 'utf8') : '', '', 'a program was run on the build output');
});

/** A one-entry zip written by hand (the parts a hostile build would forge). */
function zipOf(name: string, data: Buffer, o: { method?: number; flags?: number; declaredSize?: number; localAt?: number; stored?: boolean } = {}): Buffer {
  const method = o.method ?? (o.stored ? 0 : 8);
  const body = method === 8 ? deflateRawSync(data) : data;
  const n = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(o.flags ?? 0, 6);
  local.writeUInt16LE(method, 8);
  local.writeUInt32LE(body.length, 18);
  local.writeUInt32LE(o.declaredSize ?? data.length, 22);
  local.writeUInt16LE(n.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(o.flags ?? 0, 8);
  central.writeUInt16LE(method, 10);
  central.writeUInt32LE(body.length, 20);
  central.writeUInt32LE(o.declaredSize ?? data.length, 24);
  central.writeUInt16LE(n.length, 28);
  central.writeUInt32LE(o.localAt ?? 0, 42);
  const cdAt = 30 + n.length + body.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(46 + n.length, 12);
  end.writeUInt32LE(cdAt, 16);
  return Buffer.concat([local, n, body, central, n, end]);
}

void test('hostile .ipa files give no app info and a reason', async (t) => {
  const dir = tempDir(t);
  const name = 'Payload/A.app/Info.plist';
  const cases: Array<[string, Buffer, RegExp]> = [
    ['plain', zipOf(name, Buffer.from(INFO)), /^$/],
    ['stored', zipOf(name, Buffer.from(INFO), { stored: true }), /^$/],
    ['wildcards in the name are only characters', zipOf('Payload/[A]*.app/Info.plist', Buffer.from(INFO)), /^$/],
    ['not a zip', Buffer.from('not a zip at all'), /not a zip/],
    ['truncated', zipOf(name, Buffer.from(INFO)).subarray(0, 40), /not a zip/],
    ['local header outside the file', zipOf(name, Buffer.from(INFO), { localAt: 0x7fffffff }), /outside|damaged/],
    ['encrypted', zipOf(name, Buffer.from(INFO), { flags: 1 }), /encrypted/],
    ['unknown method', zipOf(name, Buffer.from(INFO), { method: 12 }), /method 12/],
    ['a bomb that declares its size', zipOf(name, Buffer.alloc(8 * 1024 * 1024)), /larger than/],
    ['a bomb that lies about its size', zipOf(name, Buffer.alloc(8 * 1024 * 1024), { declaredSize: 100 }), /larger than/],
    ['damaged deflate data', zipOf(name, Buffer.from(INFO), { method: 8, stored: false }).fill(0xff, 30 + name.length, 30 + name.length + 8), /damaged|cannot be read/],
  ];
  for (const [label, bytes, why] of cases) {
    const file = join(dir, `${cases.findIndex((c) => c[0] === label)}.ipa`);
    writeFileSync(file, bytes);
    const result = await readIpaInfo(file);
    if (why.source === '^$') assert.equal(result.app?.bundleId, 'com.example.shop', label);
    else assert.match('problem' in result ? result.problem : 'read', why, label);
  }

  // A link (even to a real .ipa) and a FIFO are not opened as archives: no hang, no read through the link.
  const real = join(dir, 'real.ipa');
  writeFileSync(real, zipOf(name, Buffer.from(INFO)));
  const link = join(dir, 'link.ipa');
  symlinkSync(real, link);
  assert.equal((await readIpaInfo(link)).app, undefined);
  const fifo = join(dir, 'fifo.ipa');
  execFileSync('mkfifo', [fifo]);
  assert.match(((await readIpaInfo(fifo)) as { problem: string }).problem, /not a regular file/);
});
