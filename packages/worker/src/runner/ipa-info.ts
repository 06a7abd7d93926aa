/**
 * What an .ipa says about itself, for the controller's iOS install manifest: Payload/<name>.app/Info.plist
 * (XML or binary). The .ipa is build output (attacker input) and the worker reads it outside the sandbox
 * (as root on a bwrap worker), so it is read in-process — no program (a C archive parser) ever runs on
 * it: the zip's central directory (at most 64 MiB, zip64 too) names the entry, which is read stored or
 * inflated, capped at 1 MiB. A link, a FIFO, a damaged, encrypted or oversized archive, or a value not
 * in the protocol's IosAppInfo form means no app info (the upload goes ahead without it; the install
 * page then offers the download only), never a failure.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import { IosAppInfo } from '@buildmesh/protocol';
import { parseAnyPlist, PlistError } from '../pipelines/plist.js';

const MAX_PLIST_BYTES = 1024 * 1024;
const MAX_CENTRAL_DIRECTORY_BYTES = 64 * 1024 * 1024;
/** The app's own Info.plist (not a framework's, an extension's or a watch app's, which lie deeper). */
const INFO_PLIST = /^Payload\/[^/\n]+\.app\/Info\.plist$/;

/** The app info of an .ipa, or why there is none (for the build log). */
export type IpaInfoResult = { app: IosAppInfo } | { app?: undefined; problem: string };

/** Why an archive is not read (its message ends "because …" in the build log). */
class ZipRefused extends Error {}

const DAMAGED = 'it is not a zip archive, or a damaged one';
const TOO_LARGE = `its Info.plist is larger than ${MAX_PLIST_BYTES} bytes`;

/** The bytes of the archive's Payload/<name>.app/Info.plist (the first the central directory names). */
async function infoPlistOf(ipaPath: string): Promise<Buffer> {
  // No link followed, and a FIFO cannot block the open.
  const file = await open(ipaPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stat = await file.stat();
    if (!stat.isFile()) throw new ZipRefused('it is not a regular file');
    const size = stat.size;
    const read = async (at: number, length: number): Promise<Buffer> => {
      if (!Number.isSafeInteger(at) || at < 0 || at + length > size) throw new ZipRefused(DAMAGED);
      const buf = Buffer.alloc(length);
      for (let done = 0; done < length; ) {
        const { bytesRead } = await file.read(buf, done, length - done, at + done);
        if (bytesRead === 0) throw new ZipRefused(DAMAGED);
        done += bytesRead;
      }
      return buf;
    };
    const u64 = (buf: Buffer, at: number) => Number(buf.readBigUInt64LE(at));

    // The end of central directory record: 22 bytes and a comment of up to 65,535.
    const tailAt = Math.max(0, size - 22 - 0xffff);
    const tail = await read(tailAt, size - tailAt);
    let end = -1;
    for (let i = tail.length - 22; i >= 0 && end < 0; i--) if (tail.readUInt32LE(i) === 0x06054b50) end = i;
    if (end < 0) throw new ZipRefused(DAMAGED);
    let entries = tail.readUInt16LE(end + 10);
    let directorySize = tail.readUInt32LE(end + 12);
    let directoryAt = tail.readUInt32LE(end + 16);
    if (entries === 0xffff || directorySize === 0xffffffff || directoryAt === 0xffffffff) {
      // Zip64: a locator right before that record says where the zip64 end record is.
      const locator = await read(tailAt + end - 20, 20);
      if (locator.readUInt32LE(0) !== 0x07064b50) throw new ZipRefused(DAMAGED);
      const record = await read(u64(locator, 8), 56);
      if (record.readUInt32LE(0) !== 0x06064b50) throw new ZipRefused(DAMAGED);
      entries = u64(record, 32);
      directorySize = u64(record, 40);
      directoryAt = u64(record, 48);
    }
    if (directorySize > MAX_CENTRAL_DIRECTORY_BYTES) throw new ZipRefused(`its list of files is larger than ${MAX_CENTRAL_DIRECTORY_BYTES} bytes`);
    const directory = await read(directoryAt, directorySize);

    for (let p = 0, n = 0; n < entries; n++) {
      if (p + 46 > directory.length || directory.readUInt32LE(p) !== 0x02014b50) throw new ZipRefused(DAMAGED);
      const flags = directory.readUInt16LE(p + 8);
      const method = directory.readUInt16LE(p + 10);
      const nameLength = directory.readUInt16LE(p + 28);
      const extraAt = p + 46 + nameLength;
      const extraEnd = extraAt + directory.readUInt16LE(p + 30);
      const next = extraEnd + directory.readUInt16LE(p + 32);
      if (next > directory.length) throw new ZipRefused(DAMAGED);
      if (!INFO_PLIST.test(directory.toString('utf8', p + 46, extraAt))) {
        p = next;
        continue;
      }
      let compressed = directory.readUInt32LE(p + 20);
      let uncompressed = directory.readUInt32LE(p + 24);
      let localAt = directory.readUInt32LE(p + 42);
      // Zip64 sizes and offset: in the extra field 0x0001, those whose 32-bit field is all ones, in this order.
      for (let x = extraAt; x + 4 <= extraEnd; ) {
        const id = directory.readUInt16LE(x);
        const length = directory.readUInt16LE(x + 2);
        if (id === 0x0001) {
          let at = x + 4;
          const take = () => {
            if (at + 8 > Math.min(x + 4 + length, extraEnd)) throw new ZipRefused(DAMAGED);
            const v = u64(directory, at);
            at += 8;
            return v;
          };
          if (uncompressed === 0xffffffff) uncompressed = take();
          if (compressed === 0xffffffff) compressed = take();
          if (localAt === 0xffffffff) localAt = take();
        }
        x += 4 + length;
      }
      if (flags & 0x1) throw new ZipRefused('its Info.plist is encrypted');
      if (method !== 0 && method !== 8) throw new ZipRefused(`its Info.plist is compressed with method ${method}, which is not read`);
      // A deflated 1 MiB is never much more than 1 MiB (stored blocks); the declared size is checked, then enforced.
      if (uncompressed > MAX_PLIST_BYTES || compressed > MAX_PLIST_BYTES + 64 * 1024) throw new ZipRefused(TOO_LARGE);
      const local = await read(localAt, 30);
      if (local.readUInt32LE(0) !== 0x04034b50) throw new ZipRefused(DAMAGED);
      const data = await read(localAt + 30 + local.readUInt16LE(26) + local.readUInt16LE(28), compressed);
      if (method === 0) {
        if (data.length > MAX_PLIST_BYTES) throw new ZipRefused(TOO_LARGE);
        return data;
      }
      try {
        return inflateRawSync(data, { maxOutputLength: MAX_PLIST_BYTES });
      } catch (err) {
        throw new ZipRefused((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? TOO_LARGE : `its Info.plist is damaged (${(err as Error).message})`);
      }
    }
    throw new ZipRefused('it has no Payload/<name>.app/Info.plist');
  } finally {
    await file.close();
  }
}

/** Does the value have the form of an IosAppInfo field (the schema's own pattern and length)? */
function fits(schema: object, v: unknown): v is string {
  const { pattern, maxLength } = schema as { pattern: string; maxLength: number };
  return typeof v === 'string' && v.length >= 1 && v.length <= maxLength && new RegExp(pattern, 'u').test(v);
}

function own(dict: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(dict, key) ? dict[key] : undefined;
}

/** Reads the app info of an .ipa. */
export async function readIpaInfo(ipaPath: string): Promise<IpaInfoResult> {
  let plist: Buffer;
  try {
    plist = await infoPlistOf(ipaPath);
  } catch (err) {
    if (err instanceof ZipRefused) return { problem: err.message };
    const e = err as NodeJS.ErrnoException;
    return { problem: e.code === 'ELOOP' ? 'it is a symbolic link' : e.code === 'ENXIO' ? 'it is not a regular file' : `it cannot be read (${e.code ?? e.message})` };
  }
  let info: unknown;
  try {
    info = parseAnyPlist(plist);
  } catch (err) {
    return { problem: `its Info.plist cannot be read: ${err instanceof PlistError ? err.message : String(err)}` };
  }
  if (typeof info !== 'object' || info === null || Array.isArray(info) || Buffer.isBuffer(info) || info instanceof Date) {
    return { problem: 'its Info.plist is not a dictionary' };
  }
  const dict = info as Record<string, unknown>;
  const p = IosAppInfo.properties;
  const bundleId = own(dict, 'CFBundleIdentifier');
  const build = own(dict, 'CFBundleVersion');
  const version = own(dict, 'CFBundleShortVersionString') ?? build;
  const title = [own(dict, 'CFBundleDisplayName'), own(dict, 'CFBundleName')].find((t) => fits(p.title, t));
  if (!fits(p.bundleId, bundleId)) return { problem: 'its CFBundleIdentifier is missing or not a bundle identifier' };
  if (!fits(p.build, build)) return { problem: 'its CFBundleVersion is missing or not a version' };
  if (!fits(p.version, version)) return { problem: 'its CFBundleShortVersionString is not a version' };
  if (!title) return { problem: 'it has no CFBundleDisplayName or CFBundleName' };
  return { app: { bundleId, version, build, title } };
}
