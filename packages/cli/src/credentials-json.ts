/**
 * Reads a project's `credentials.json` (eas-cli's local credentials format) into the wire
 * `CredentialsBundle`: the keystore, p12 and provisioning profile files are read and base64'd.
 *
 *   android: { keystore: { keystorePath, keystorePassword, keyAlias, keyPassword? } }
 *   ios:     { provisioningProfilePath, distributionCertificate: { path, password } }
 *            or, per target, { "<TargetName>": { provisioningProfilePath, distributionCertificate } }
 *
 * File paths are relative to the project directory. Values are never printed.
 */
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { CredentialsBundle, IosTargetCredentials, Platform } from '@buildmesh/protocol';
import { CliError } from './output.js';

export const CREDENTIALS_JSON = 'credentials.json';
/** The wire schema's cap per file. */
const MAX_FILE_BYTES = 1024 * 1024;

const invalid = (message: string) =>
  new CliError('CREDENTIALS_JSON_INVALID', `credentials.json: ${message}`, 'see `buildmesh credentials upload --help` for the expected shape');

function field(obj: Record<string, unknown>, key: string, where: string, optional = false): string | undefined {
  const value = obj[key];
  if (value === undefined && optional) return undefined;
  if (typeof value !== 'string' || value === '') throw invalid(`${where}.${key} must be a non-empty string`);
  return value;
}

function object(value: unknown, where: string): Record<string, unknown> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw invalid(`${where} must be an object`);
  return value as Record<string, unknown>;
}

async function fileBase64(projectDir: string, path: string, where: string): Promise<string> {
  const abs = isAbsolute(path) ? path : join(projectDir, path);
  const s = await stat(abs).catch(() => null);
  if (!s?.isFile()) {
    throw new CliError('CREDENTIALS_FILE_MISSING', `${where}: no file at ${abs}`, 'fix the path in credentials.json (relative to the project)');
  }
  if (s.size > MAX_FILE_BYTES) throw invalid(`${where}: ${abs} is larger than 1 MiB`);
  return (await readFile(abs)).toString('base64');
}

async function iosTarget(projectDir: string, value: unknown, where: string): Promise<IosTargetCredentials> {
  const target = object(value, where);
  const cert = object(target.distributionCertificate, `${where}.distributionCertificate`);
  const certPath = field(cert, 'path', `${where}.distributionCertificate`)!;
  const password = cert.password;
  if (typeof password !== 'string') throw invalid(`${where}.distributionCertificate.password must be a string`);
  const profilePath = field(target, 'provisioningProfilePath', where)!;
  return {
    p12Base64: await fileBase64(projectDir, certPath, `${where}.distributionCertificate.path`),
    p12Password: password,
    provisioningProfileBase64: await fileBase64(projectDir, profilePath, `${where}.provisioningProfilePath`),
  };
}

export interface ReadCredentialsOptions {
  /** Only these platforms (default: every platform present in the file). */
  platforms?: readonly Platform[];
  /** Target name for the single-target iOS form (default: the app's name, as prebuild names the target). */
  iosTargetName: string;
}

/** Reads and checks `<projectDir>/credentials.json`; throws CREDENTIALS_JSON_MISSING when absent. */
export async function readCredentialsJson(projectDir: string, options: ReadCredentialsOptions): Promise<CredentialsBundle> {
  const path = join(projectDir, CREDENTIALS_JSON);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new CliError('CREDENTIALS_JSON_MISSING', `no ${CREDENTIALS_JSON} in ${projectDir}`, 'create it (see `buildmesh credentials upload --help`)');
  }
  let root: Record<string, unknown>;
  try {
    root = object(JSON.parse(text), 'the file');
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw invalid('not valid JSON');
  }
  const wanted = (p: Platform) => (options.platforms ? options.platforms.includes(p) : root[p] !== undefined);
  const bundle: CredentialsBundle = {};

  if (wanted('android')) {
    if (root.android === undefined) throw invalid('has no "android" section');
    const keystore = object(object(root.android, 'android').keystore, 'android.keystore');
    bundle.android = {
      keystore: {
        keystoreBase64: await fileBase64(projectDir, field(keystore, 'keystorePath', 'android.keystore')!, 'android.keystore.keystorePath'),
        keystorePassword: field(keystore, 'keystorePassword', 'android.keystore')!,
        keyAlias: field(keystore, 'keyAlias', 'android.keystore')!,
        ...(keystore.keyPassword !== undefined ? { keyPassword: field(keystore, 'keyPassword', 'android.keystore')! } : {}),
      },
    };
  }

  if (wanted('ios')) {
    if (root.ios === undefined) throw invalid('has no "ios" section');
    const ios = object(root.ios, 'ios');
    const targets: Record<string, IosTargetCredentials> = {};
    if ('provisioningProfilePath' in ios || 'distributionCertificate' in ios) {
      targets[options.iosTargetName] = await iosTarget(projectDir, ios, 'ios');
    } else {
      for (const [name, value] of Object.entries(ios)) targets[name] = await iosTarget(projectDir, value, `ios.${name}`);
      if (Object.keys(targets).length === 0) throw invalid('"ios" names no target');
    }
    bundle.ios = { targets };
  }

  if (!bundle.android && !bundle.ios) throw invalid('has neither an "android" nor an "ios" section');
  return bundle;
}
