/**
 * The user's CLI config: which controller to talk to and with which token. One JSON file,
 * `$XDG_CONFIG_HOME/buildmesh/config.json` (else `~/.config/buildmesh/config.json`), mode 0600 in
 * a 0700 directory, written atomically so a crash never leaves half a token behind.
 * BUILDMESH_URL and BUILDMESH_TOKEN override the file (CI sets them; nothing is written).
 */
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { BuildMeshClient } from '@buildmesh/protocol';
import { CliError } from './output.js';

export interface CliConfig {
  url: string;
  token: string;
  /** When `login` (or `up`) saved it. */
  savedAt: string;
}

export const DEFAULT_URL = 'http://127.0.0.1:4650';
const USER_AGENT = 'buildmesh-cli/0.1.0';

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'buildmesh');
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'config.json');
}

/** The saved config, or null when there is none. A file that is not ours to read is an error, not "none". */
export async function readConfig(path = configPath()): Promise<CliConfig | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CliError('CONFIG_UNREADABLE', `cannot read ${path}: ${(err as Error).message}`, 'fix its permissions or delete it');
  }
  let parsed: Partial<CliConfig>;
  try {
    parsed = JSON.parse(text) as Partial<CliConfig>;
  } catch {
    throw new CliError('CONFIG_INVALID', `${path} is not valid JSON`, 'delete it and run `buildmesh login` again');
  }
  if (typeof parsed.url !== 'string' || typeof parsed.token !== 'string') {
    throw new CliError('CONFIG_INVALID', `${path} lacks "url" or "token"`, 'delete it and run `buildmesh login` again');
  }
  const mode = (await stat(path)).mode & 0o777;
  if (mode & 0o077) {
    process.stderr.write(`warning ${path} is readable by other users (mode ${mode.toString(8)}); run: chmod 600 ${path}\n`);
  }
  return { url: parsed.url, token: parsed.token, savedAt: parsed.savedAt ?? '' };
}

/** Writes the config atomically with mode 0600; returns its path. */
export async function writeConfig(config: Omit<CliConfig, 'savedAt'>, path = configPath()): Promise<string> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  // Created 0600 from the first byte (never world-readable, whatever the umask), then renamed over.
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(JSON.stringify({ ...config, savedAt: new Date().toISOString() }, null, 2) + '\n');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(tmp, 0o600);
  await rename(tmp, path);
  return path;
}

/** Removes the saved config; false when there was none. */
export async function deleteConfig(path = configPath()): Promise<boolean> {
  try {
    await stat(path);
  } catch {
    return false;
  }
  await rm(path, { force: true });
  return true;
}

export type Source = 'env' | 'config' | 'default';

export interface Connection {
  url: string;
  token: string | null;
  urlSource: Source;
  tokenSource: Source | null;
}

/** Where to reach the controller and with which token: environment first, then the saved config. */
export async function resolveConnection(env: NodeJS.ProcessEnv = process.env): Promise<Connection> {
  const saved = await readConfig(configPath(env));
  const envUrl = env.BUILDMESH_URL?.trim();
  const envToken = env.BUILDMESH_TOKEN?.trim();
  const url = envUrl || saved?.url || DEFAULT_URL;
  const urlSource: Source = envUrl ? 'env' : saved ? 'config' : 'default';
  // A saved token belongs to the saved URL: never send it to a different controller.
  const savedTokenApplies = saved !== null && normalizeUrl(saved.url) === normalizeUrl(url);
  const token = envToken || (savedTokenApplies ? saved.token : null);
  const tokenSource: Source | null = envToken ? 'env' : token ? 'config' : null;
  return { url: normalizeUrl(url), token, urlSource, tokenSource };
}

/** A client for commands that need a token; refuses early (NOT_LOGGED_IN) when there is none. */
export async function connect(): Promise<{ client: BuildMeshClient; connection: Connection }> {
  const connection = await resolveConnection();
  if (!connection.token) {
    throw new CliError(
      'NOT_LOGGED_IN',
      `no token for ${connection.url}`,
      'run `buildmesh login --url URL` (or set BUILDMESH_URL and BUILDMESH_TOKEN)',
    );
  }
  return { client: makeClient(connection.url, connection.token), connection };
}

export function makeClient(url: string, token?: string | null): BuildMeshClient {
  return new BuildMeshClient({ url, token: token ?? undefined, userAgent: USER_AGENT });
}

export function normalizeUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError('INVALID_URL', `not a URL: ${url}`, 'give the controller URL, e.g. http://127.0.0.1:4650');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new CliError('INVALID_URL', `not an http(s) URL: ${url}`, 'give the controller URL, e.g. http://127.0.0.1:4650');
  }
  return parsed.toString().replace(/\/+$/, '');
}

/** Where a build lives on the controller: its page in the web dashboard (served at the controller's address). */
export function buildUrl(url: string, buildId: string): string {
  return `${normalizeUrl(url)}/builds/${buildId}`;
}
