/**
 * The user's CLI config: one saved login per controller URL, and which one is current. One JSON file,
 * `$XDG_CONFIG_HOME/buildmesh/config.json` (else `~/.config/buildmesh/config.json`), mode 0600 in
 * a 0700 directory, written atomically so a crash never leaves half a token behind. Saving a login
 * for one controller never touches another's. BUILDMESH_URL picks a controller (with its saved
 * token); BUILDMESH_TOKEN overrides the token (CI sets them; nothing is written).
 * File: `{ "current": URL, "logins": { URL: { "token", "savedAt" } } }` (the older `{ url, token }` is read too).
 */
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { BuildMeshClient } from '@buildmesh/protocol';
import { CliError } from './output.js';
import { cli } from './invocation.js';

/** The current login. */
export interface CliConfig {
  url: string;
  token: string;
  /** When `login` (or `up`) saved it. */
  savedAt: string;
}

export interface SavedLogin {
  token: string;
  savedAt: string;
}

/** Everything saved: a login per controller URL (normalized), and the current one. */
export interface CliLogins {
  current: string | null;
  logins: Record<string, SavedLogin>;
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

/** Every saved login, or null when there is no file. A file that is not ours to read is an error, not "none". */
export async function readLogins(path = configPath()): Promise<CliLogins | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CliError('CONFIG_UNREADABLE', `cannot read ${path}: ${(err as Error).message}`, 'fix its permissions or delete it');
  }
  const invalid = (what: string) => new CliError('CONFIG_INVALID', `${path} ${what}`, 'delete it and run `buildmesh login` again');
  let parsed: { url?: unknown; token?: unknown; savedAt?: unknown; current?: unknown; logins?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw invalid('is not valid JSON');
  }
  const mode = (await stat(path)).mode & 0o777;
  if (mode & 0o077) {
    process.stderr.write(`warning ${path} is readable by other users (mode ${mode.toString(8)}); run: chmod 600 ${path}\n`);
  }
  if (typeof parsed.url === 'string' && typeof parsed.token === 'string') {
    // The single-login file of earlier versions.
    const url = normalizeUrl(parsed.url);
    return { current: url, logins: { [url]: { token: parsed.token, savedAt: typeof parsed.savedAt === 'string' ? parsed.savedAt : '' } } };
  }
  if (typeof parsed.logins !== 'object' || parsed.logins === null) throw invalid('lacks "logins"');
  const logins: Record<string, SavedLogin> = {};
  for (const [url, entry] of Object.entries(parsed.logins as Record<string, { token?: unknown; savedAt?: unknown }>)) {
    if (typeof entry?.token !== 'string') throw invalid(`has no token for ${url}`);
    logins[normalizeUrl(url)] = { token: entry.token, savedAt: typeof entry.savedAt === 'string' ? entry.savedAt : '' };
  }
  const current = typeof parsed.current === 'string' && logins[normalizeUrl(parsed.current)] ? normalizeUrl(parsed.current) : null;
  return { current, logins };
}

/** The current login, or null when there is none. */
export async function readConfig(path = configPath()): Promise<CliConfig | null> {
  const all = await readLogins(path);
  if (!all?.current) return null;
  const login = all.logins[all.current]!;
  return { url: all.current, token: login.token, savedAt: login.savedAt };
}

/** The saved login for one controller URL, or null. */
export async function savedLoginFor(url: string, path = configPath()): Promise<CliConfig | null> {
  const all = await readLogins(path);
  const key = normalizeUrl(url);
  const login = all?.logins[key];
  return login ? { url: key, token: login.token, savedAt: login.savedAt } : null;
}

async function writeLogins(all: CliLogins, path: string): Promise<string> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  // Created 0600 from the first byte (never world-readable, whatever the umask), then renamed over.
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(JSON.stringify(all, null, 2) + '\n');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(tmp, 0o600);
  await rename(tmp, path);
  return path;
}

/**
 * Saves the login for this URL (other controllers' logins are kept) and, unless `makeCurrent` is
 * false, makes it the current one. Atomic, mode 0600; returns the file's path.
 */
export async function writeConfig(config: Omit<CliConfig, 'savedAt'>, path = configPath(), makeCurrent = true): Promise<string> {
  const all = (await readLogins(path).catch(() => null)) ?? { current: null, logins: {} };
  const url = normalizeUrl(config.url);
  all.logins[url] = { token: config.token, savedAt: new Date().toISOString() };
  if (makeCurrent || !all.current) all.current = url;
  return writeLogins(all, path);
}

/** Makes a saved login the current one; false when there is none for that URL. */
export async function useLogin(url: string, path = configPath()): Promise<boolean> {
  const all = await readLogins(path);
  const key = normalizeUrl(url);
  if (!all?.logins[key]) return false;
  all.current = key;
  await writeLogins(all, path);
  return true;
}

/**
 * Forgets the login for `url` (default: the current one; the next saved one becomes current), or
 * every login with `all`. Returns the URLs forgotten.
 */
export async function deleteConfig(path = configPath(), options: { url?: string; all?: boolean } = {}): Promise<string[]> {
  const saved = await readLogins(path).catch(() => null);
  if (!saved) {
    // An unreadable file is removed only when everything is asked to go.
    if (options.all) await rm(path, { force: true });
    return [];
  }
  const target = options.all ? null : options.url ? normalizeUrl(options.url) : saved.current;
  const gone = options.all ? Object.keys(saved.logins) : target && saved.logins[target] ? [target] : [];
  for (const url of gone) delete saved.logins[url];
  if (Object.keys(saved.logins).length === 0) {
    await rm(path, { force: true });
  } else {
    if (!saved.current || !saved.logins[saved.current]) saved.current = Object.keys(saved.logins)[0]!;
    await writeLogins(saved, path);
  }
  return gone;
}

export type Source = 'env' | 'config' | 'default';

export interface Connection {
  url: string;
  token: string | null;
  urlSource: Source;
  tokenSource: Source | null;
}

/**
 * Where to reach the controller and with which token: BUILDMESH_URL (else the current saved login,
 * else the default URL); BUILDMESH_TOKEN, else the token saved for that very URL — a saved token is
 * never sent to another controller.
 */
export async function resolveConnection(env: NodeJS.ProcessEnv = process.env): Promise<Connection> {
  const all = await readLogins(configPath(env));
  const envUrl = env.BUILDMESH_URL?.trim();
  const envToken = env.BUILDMESH_TOKEN?.trim();
  const url = normalizeUrl(envUrl || all?.current || DEFAULT_URL);
  const urlSource: Source = envUrl ? 'env' : all?.current ? 'config' : 'default';
  const saved = all?.logins[url]?.token ?? null;
  const token = envToken || saved;
  const tokenSource: Source | null = envToken ? 'env' : token ? 'config' : null;
  return { url, token, urlSource, tokenSource };
}

/** A client for commands that need a token; refuses early (NOT_LOGGED_IN) when there is none. */
export async function connect(): Promise<{ client: BuildMeshClient; connection: Connection }> {
  const connection = await resolveConnection();
  if (!connection.token) {
    throw new CliError(
      'NOT_LOGGED_IN',
      `no token for ${connection.url}${connection.urlSource === 'env' ? ' (the URL in BUILDMESH_URL)' : ''}`,
      `run \`${cli()} login --url ${connection.url}\` (or set BUILDMESH_TOKEN)`,
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
