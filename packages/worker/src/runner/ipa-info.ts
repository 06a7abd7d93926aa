/**
 * What an .ipa says about itself, for the controller's iOS install manifest: Payload/<name>.app/Info.plist
 * (XML or binary) read with the system's `unzip` (every macOS has it; Debian: apt-get install unzip)
 * — the archive is listed, then that one entry is printed, capped at 1 MiB. The .ipa is build output
 * (attacker input): a value that is missing or not in the protocol's IosAppInfo form means no app info
 * (the upload goes ahead without it; the install page then offers the download only), never a failure.
 */
import { spawn } from 'node:child_process';
import { IosAppInfo } from '@buildmesh/protocol';
import { parseAnyPlist, PlistError } from '../pipelines/plist.js';

const MAX_PLIST_BYTES = 1024 * 1024;
const TIMEOUT_MS = 30_000;
/** The app's own Info.plist (not a framework's, an extension's or a watch app's, which lie deeper). */
const INFO_PLIST = /^Payload\/[^/\n]+\.app\/Info\.plist$/;

/** The app info of an .ipa, or why there is none (for the build log). */
export type IpaInfoResult = { app: IosAppInfo } | { app?: undefined; problem: string };

/** Runs unzip; resolves with stdout, or undefined past `maxBytes`, and rejects when unzip fails or is missing. */
function unzip(args: string[], maxBytes: number, command: string): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: TIMEOUT_MS });
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        over = true;
        child.kill('SIGKILL');
      } else chunks.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 2000) stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (over) resolve(undefined);
      else if (code === 0) resolve(Buffer.concat(chunks));
      else reject(new Error(`unzip ${signal ? `was killed (${signal})` : `exited ${code}`}: ${stderr.trim().split('\n')[0] ?? ''}`));
    });
  });
}

/** Does the value have the form of an IosAppInfo field (the schema's own pattern and length)? */
function fits(schema: object, v: unknown): v is string {
  const { pattern, maxLength } = schema as { pattern: string; maxLength: number };
  return typeof v === 'string' && v.length >= 1 && v.length <= maxLength && new RegExp(pattern, 'u').test(v);
}

function own(dict: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(dict, key) ? dict[key] : undefined;
}

/** Reads the app info of an .ipa (options.unzip: the unzip command, default `unzip` from PATH). */
export async function readIpaInfo(ipaPath: string, options: { unzip?: string } = {}): Promise<IpaInfoResult> {
  const command = options.unzip ?? 'unzip';
  let plist: Buffer | undefined;
  try {
    // -Z1: zipinfo, one entry name a line (names only, ~100 bytes each even for a huge app).
    const listing = await unzip(['-Z1', '--', ipaPath], 64 * 1024 * 1024, command);
    const entry = listing?.toString('utf8').split('\n').find((name) => INFO_PLIST.test(name));
    if (!entry) return { problem: 'it has no Payload/<name>.app/Info.plist' };
    // unzip reads * ? [ in a name as wildcards: such a name is not looked up.
    if (/[*?[\]\\]/.test(entry)) return { problem: `its app folder name ${JSON.stringify(entry)} holds wildcard characters` };
    plist = await unzip(['-p', '--', ipaPath, entry], MAX_PLIST_BYTES, command);
    if (!plist) return { problem: `its Info.plist is larger than ${MAX_PLIST_BYTES} bytes` };
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    return { problem: missing ? `the worker has no ${command} to read it with (install unzip)` : (err as Error).message };
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
