/**
 * `buildmesh login`: saves a token for a controller URL, after the controller has accepted it, and
 * makes that controller the current one; logins to other controllers are kept. A refused token is
 * never written. The URL is checked to answer before a token is asked for. The token comes from stdin
 * (--token-stdin), from BUILDMESH_TOKEN, or from a hidden prompt; never from argv. With none of these
 * and a saved login for the URL that still works, login just switches to it.
 */
import { ApiError, type WhoAmI } from '@buildmesh/protocol';
import { action, command } from '../command-kit.js';
import { configPath, DEFAULT_URL, makeClient, normalizeUrl, readConfig, savedLoginFor, useLogin, writeConfig } from '../config.js';
import { cli } from '../invocation.js';
import { CliError, renderFields, type Output } from '../output.js';
import { promptHidden, promptLine, readStdin, stdinIsTty } from '../prompt.js';
import { ssoToken } from '../sso-login.js';

interface LoginOptions {
  json?: boolean;
  url?: string;
  tokenStdin?: boolean;
  sso?: boolean;
  browser?: boolean;
}

async function readToken(opts: LoginOptions): Promise<string> {
  if (opts.tokenStdin) return (await readStdin()).trim();
  const fromEnv = process.env.BUILDMESH_TOKEN?.trim();
  if (fromEnv) return fromEnv;
  if (stdinIsTty()) return (await promptHidden('Token (input hidden): ')).trim();
  throw new CliError('NO_TOKEN', 'no token given', 'pipe it with `--token-stdin` (e.g. `buildmesh login --url URL --token-stdin < token.txt`) or set BUILDMESH_TOKEN');
}

export const loginCommand = action<LoginOptions>(
  command('login', 'Verify a controller URL and token, then save them (mode 0600) for later commands', [
    'buildmesh login --url https://builds.example.com          # prompts for the token',
    'buildmesh login --url http://127.0.0.1:4650 --token-stdin < token.txt',
    'BUILDMESH_TOKEN=… buildmesh login --url https://builds.example.com',
    'buildmesh login --url https://builds.example.com --sso   # single sign-on in the browser',
  ])
    .option('--url <url>', 'controller URL (default: BUILDMESH_URL, the saved URL, or ' + DEFAULT_URL + ')')
    .option('--token-stdin', 'read the token from stdin')
    .option('--sso', "sign in with the controller's identity provider (single sign-on) in the browser; saves a 12-hour token")
    .option('--no-browser', 'with --sso: print the sign-in URL instead of opening a browser'),
  async ({ out, opts }) => {
    const saved = await readConfig();
    let url = opts.url ?? process.env.BUILDMESH_URL ?? saved?.url;
    if (!url && stdinIsTty() && !opts.tokenStdin) url = await promptLine(`Controller URL [${DEFAULT_URL}]: `, DEFAULT_URL);
    url = normalizeUrl(url ?? DEFAULT_URL);
    // Is this a BuildMesh controller at all? Asked before anyone types a token.
    try {
      await makeClient(url).health();
    } catch (err) {
      if (err instanceof ApiError) {
        throw new CliError('NOT_A_CONTROLLER', `${url} answered /health with ${err.code}: is it a BuildMesh controller?`, 'check the URL (the controller prints it when it starts)');
      }
      throw err;
    }

    // No token given: a saved login for this controller that still works is switched to.
    const explicitToken = opts.tokenStdin || opts.sso || Boolean(process.env.BUILDMESH_TOKEN?.trim());
    const savedHere = explicitToken ? null : await savedLoginFor(url);
    let me: WhoAmI | null = null;
    if (savedHere) {
      me = await makeClient(url, savedHere.token).whoami().catch(() => null);
      if (me) {
        await useLogin(url);
        report(out, url, me, 'switched');
        return;
      }
    }
    const token = opts.sso ? await ssoToken(url, out, { browser: opts.browser !== false }) : await readToken(opts);
    if (!token) throw new CliError('NO_TOKEN', 'the token is empty', `give the token the controller printed (or \`${cli()} admin token create\` made)`);
    try {
      me = await makeClient(url, token).whoami();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'UNAUTHENTICATED') {
        const fromEnv = !opts.tokenStdin && process.env.BUILDMESH_TOKEN ? ' (the token in BUILDMESH_TOKEN)' : '';
        throw new CliError('TOKEN_REJECTED', `the controller at ${url} refused the token${fromEnv}; nothing was saved`, `check the token (it is shown once when created); an admin can make a new one with \`${cli()} admin token create\``);
      }
      throw err;
    }
    await writeConfig({ url, token });
    report(out, url, me, 'saved');
  },
);

function report(out: Output, url: string, me: WhoAmI, how: 'saved' | 'switched'): void {
  const path = configPath();
  if (out.json) {
    out.printJson({ url, org: me.org, token: me.token, configPath: path, switched: how === 'switched' });
    return;
  }
  out.info(out.c.green(how === 'switched' ? `✔ Switched to ${url} (its saved login)` : `✔ Logged in to ${url}`));
  out.info(renderFields([
    ['org', `${me.org.name} (${me.org.id})`],
    ['token', `${me.token.name} (role ${me.token.role}${me.token.instanceAdmin ? ', instance admin' : ''})`],
    ['saved to', path],
  ], out.c));
}
