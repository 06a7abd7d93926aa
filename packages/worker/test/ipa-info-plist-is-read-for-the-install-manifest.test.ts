/**
 * The worker reads an .ipa's own Payload/<name>.app/Info.plist (XML or binary) from a real zip made
 * with `zip`, and sends what it says with the upload; a hostile or odd .ipa gives no app info (and a
 * reason for the log), never a failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { skipUnless } from '../../../test/helpers/system-services.js';
import { readIpaInfo } from '../src/runner/ipa-info.js';
import { collectArtifacts } from '../src/runner/artifacts.js';
import { buildPlist, parseBinaryPlist, parsePlist, PlistError } from '../src/pipelines/plist.js';
import { tempDir } from './support/runner-fixtures.js';

const has = (cmd: string) => spawnSync(cmd, ['-v'], { stdio: 'ignore' }).status === 0;
const skip = skipUnless(has('zip'), 'zip is not installed (Debian: apt-get install zip)');

/**
 * A binary Info.plist as Python's plistlib (FMT_BINARY, Apple's layout) writes it: CFBundleIdentifier
 * com.example.shop, CFBundleShortVersionString 2.3.0, CFBundleVersion 45, CFBundleDisplayName
 * "Shop ✓ <Beta>" (a UTF-16 string), CFBundleName Shop, plus an array, a bool, a real, integers of
 * 1 and 8 bytes, a date, data and a string two references share.
 */
const BINARY_INFO_PLIST = Buffer.from(
  'YnBsaXN0MDDfEA8BAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHiFTQmlnVEJsb2JfEBNCdWlsZE1hY2hpbmVPU0J1aWxkXxATQ0ZCdW5kbGVEaXNwbGF5TmFtZV8QEkNGQnVuZGxlSWRlbnRpZmllclxDRkJ1bmRsZU5hbWVfEBpDRkJ1bmRsZVNob3J0VmVyc2lvblN0cmluZ18QD0NGQnVuZGxlVmVyc2lvbl8QEURUUGxhdGZvcm1WZXJzaW9uXxASTFNSZXF1aXJlc0lQaG9uZU9TXxAQTWluaW11bU9TVmVyc2lvblNOZWdWU2hhcmVkXlVJRGV2aWNlRmFtaWx5VFdoZW4TAAABAAAAAABDAAECVjIzQTM0NG0AUwBoAG8AcAAgJxMAIAA8AEIAZQB0AGEAPl8QEGNvbS5leGFtcGxlLnNob3BUU2hvcFUyLjMuMFI0NSNAMQAAAAAAAAlUMTUuMRP/////////+6IdHVF4oh8gEAEQAjNByF9pEAAAAAAIACkALQAyAEgAXgBzAIAAnQCvAMMA2ADrAO8A9gEFAQoBEwEXAR4BOQFMAVEBVwFaAWMBZAFpAXIBdQF3AXoBfAF+AAAAAAAAAgEAAAAAAAAAIgAAAAAAAAAAAAAAAAAAAYc=',
  'base64',
);

/** Zips `files` (path inside the archive → bytes) into `<dir>/<name>` with the real zip tool, as Xcode's export does. */
function makeIpa(dir: string, name: string, files: Record<string, Buffer | string>): string {
  const root = join(dir, `${name}.d`);
  for (const [path, bytes] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), bytes);
  }
  const out = join(dir, name);
  execFileSync('zip', ['-q', '-r', '-X', out, 'Payload'], { cwd: root });
  return out;
}

const xmlInfo = (fields: Record<string, string>) => buildPlist(fields);

void test('an .ipa with an XML Info.plist gives its bundle id, version, build and display name; nested bundles are not read', { skip }, async (t) => {
  const dir = tempDir(t);
  const ipa = makeIpa(dir, 'Shop.ipa', {
    // A framework and an app extension carry their own Info.plist deeper in the app: not the app's.
    'Payload/Shop App.app/Frameworks/Pay.framework/Info.plist': xmlInfo({ CFBundleIdentifier: 'com.vendor.pay', CFBundleVersion: '9', CFBundleName: 'Pay' }),
    'Payload/Shop App.app/PlugIns/Widget.appex/Info.plist': xmlInfo({ CFBundleIdentifier: 'com.example.shop.widget', CFBundleVersion: '45', CFBundleName: 'Widget' }),
    'Payload/Shop App.app/Info.plist': xmlInfo({
      CFBundleIdentifier: 'com.example.shop',
      CFBundleShortVersionString: '2.3.0',
      CFBundleVersion: '45',
      CFBundleDisplayName: 'Shop & Co <beta>',
      CFBundleName: 'Shop',
    }),
    'Payload/Shop App.app/Shop': randomBytes(50_000),
  });
  assert.deepEqual(await readIpaInfo(ipa), { app: { bundleId: 'com.example.shop', version: '2.3.0', build: '45', title: 'Shop & Co <beta>' } });

  // Through artifact collection: the application archive carries it; the same bytes as a build artifact do not.
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  const files = await collectArtifacts(dir, tmp, [{ kind: 'application-archive', patterns: ['Shop.ipa'], required: true }], () => {});
  assert.equal(files[0]?.app?.bundleId, 'com.example.shop');
  const other = await collectArtifacts(dir, tmp, [{ kind: 'build-artifacts', patterns: ['Shop.ipa'], required: true }], () => {});
  assert.equal(other[0]?.app, undefined);
});

void test('a binary Info.plist (bplist00, as Xcode writes it) is read too', { skip }, async (t) => {
  const parsed = parseBinaryPlist(BINARY_INFO_PLIST) as Record<string, unknown>;
  assert.equal(parsed.CFBundleDisplayName, 'Shop ✓ <Beta>');
  assert.deepEqual(parsed.UIDeviceFamily, [1, 2]);
  assert.equal(parsed.LSRequiresIPhoneOS, true);
  assert.equal(parsed.DTPlatformVersion, 17);
  assert.equal(parsed.Big, 2 ** 40);
  assert.equal(parsed.Neg, -5);
  assert.equal((parsed.When as Date).toISOString(), '2026-12-01T10:00:00.000Z');
  assert.deepEqual(parsed.Blob, Buffer.from([0, 1, 2]));
  assert.deepEqual(parsed.Shared, ['x', 'x']);

  const dir = tempDir(t);
  const ipa = makeIpa(dir, 'Shop.ipa', { 'Payload/Shop.app/Info.plist': BINARY_INFO_PLIST });
  assert.deepEqual(await readIpaInfo(ipa), { app: { bundleId: 'com.example.shop', version: '2.3.0', build: '45', title: 'Shop ✓ <Beta>' } });
});

void test('a binary plist that points outside itself or contains itself is refused', () => {
  // One array object (0xA1) whose only element is itself.
  const selfRef = Buffer.concat([Buffer.from('bplist00'), Buffer.from([0xa1, 0x00]), Buffer.from([8]), trailer(1, 1, 1, 0, 10)]);
  assert.throws(() => parseBinaryPlist(selfRef), (err: unknown) => err instanceof PlistError && /contains itself/.test(err.message));
  // An offset table entry past the end.
  const outside = Buffer.concat([Buffer.from('bplist00'), Buffer.from([0x08]), Buffer.from([200]), trailer(1, 1, 1, 0, 9)]);
  assert.throws(() => parseBinaryPlist(outside), PlistError);
  // A string whose length runs past the object area.
  const long = Buffer.concat([Buffer.from('bplist00'), Buffer.from([0x5f, 0x10, 0xff, 0x41]), Buffer.from([8]), trailer(1, 1, 1, 0, 12)]);
  assert.throws(() => parseBinaryPlist(long), PlistError);
});

function trailer(offsetSize: number, refSize: number, count: number, top: number, tableAt: number): Buffer {
  const b = Buffer.alloc(32);
  b[6] = offsetSize;
  b[7] = refSize;
  b.writeBigUInt64BE(BigInt(count), 8);
  b.writeBigUInt64BE(BigInt(top), 16);
  b.writeBigUInt64BE(BigInt(tableAt), 24);
  return b;
}

void test('an .ipa without a usable Info.plist gives no app info and says why', { skip }, async (t) => {
  const dir = tempDir(t);
  const cases: Array<[string, Record<string, Buffer | string>, RegExp]> = [
    ['none.ipa', { 'Payload/A.app/A': 'x' }, /no Payload\/<name>\.app\/Info\.plist/],
    ['no-id.ipa', { 'Payload/A.app/Info.plist': xmlInfo({ CFBundleVersion: '1', CFBundleName: 'A' }) }, /CFBundleIdentifier/],
    ['bad-id.ipa', { 'Payload/A.app/Info.plist': xmlInfo({ CFBundleIdentifier: 'com.x"><script>', CFBundleVersion: '1', CFBundleName: 'A' }) }, /CFBundleIdentifier/],
    ['no-title.ipa', { 'Payload/A.app/Info.plist': xmlInfo({ CFBundleIdentifier: 'com.x', CFBundleVersion: '1', CFBundleName: 'bell\u0007' }) }, /CFBundleDisplayName or CFBundleName/],
    ['garbage.ipa', { 'Payload/A.app/Info.plist': 'not a plist' }, /cannot be read/],
    // 2 MiB of zeros compress to a few KB: the reader stops at 1 MiB.
    ['bomb.ipa', { 'Payload/A.app/Info.plist': Buffer.alloc(2 * 1024 * 1024) }, /larger than/],
  ];
  for (const [name, files, why] of cases) {
    const result = await readIpaInfo(makeIpa(dir, name, files));
    assert.equal(result.app, undefined, name);
    assert.match('problem' in result ? result.problem : '', why, name);
  }
  const notZip = join(dir, 'plain.ipa');
  writeFileSync(notZip, 'not a zip at all');
  assert.match((await readIpaInfo(notZip) as { problem: string }).problem, /not a zip/);
});

void test('a __proto__ key in a plist is data: it never becomes the parsed object\'s prototype', () => {
  const xml = '<?xml version="1.0"?><plist version="1.0"><dict><key>__proto__</key><dict><key>polluted</key><true/></dict><key>CFBundleIdentifier</key><string>a.b</string></dict></plist>';
  const parsed = parsePlist(xml) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
  assert.equal((parsed as { polluted?: unknown }).polluted, undefined);
  assert.deepEqual(Object.getOwnPropertyDescriptor(parsed, '__proto__')?.value, { polluted: true });
  assert.equal(parsed.CFBundleIdentifier, 'a.b');
});
