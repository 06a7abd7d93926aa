/**
 * `buildmesh login`: saves the controller URL and a token, after the controller has accepted
 * them. A refused token is never written. The token comes from stdin (--token-stdin), from
 * BUILDMESH_TOKEN, or from a hidden prompt; never from argv.
 */
import { ApiError } from '@buildmesh/protocol';
import { action, command } from '../command-kit.js';
import { DEFAULT_URL, makeClient, normalizeUrl, readConfig, writeConfig } from '../config.js';
import { CliError, renderFields } from '../output.js';
import { promptHidden, promptLine, readStdin, stdinIsTty } from '../prompt.js';

interface LoginOptions {
  json?: boolean;
  url?: string;
  tokenStdin?: boolean;
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
  ])
    .option('--url <url>', 'controller URL (default: BUILDMESH_URL, the saved URL, or ' + DEFAULT_URL + ')')
    .option('--token-stdin', 'read the token from stdin'),
  async ({ out, opts }) => {
    const saved = await readConfig();
    let url = opts.url ?? process.env.BUILDMESH_URL ?? saved?.url;
    if (!url && stdinIsTty() && !opts.tokenStdin) url = await promptLine(`Controller URL [${DEFAULT_URL}]: `, DEFAULT_URL);
    url = normalizeUrl(url ?? DEFAULT_URL);
    const token = await readToken(opts);
    if (!token) throw new CliError('NO_TOKEN', 'the token is empty', 'give the token the controller printed (or `buildmesh admin token create` made)');

    let me;
    try {
      me = await makeClient(url, token).whoami();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'UNAUTHENTICATED') {
        throw new CliError('TOKEN_REJECTED', `the controller at ${url} refused the token; nothing was saved`, 'check the token (it is shown once when created); an admin can make a new one with `buildmesh admin token create`');
      }
      throw err;
    }
    const path = await writeConfig({ url, token });
    if (out.json) {
      out.printJson({ url, org: me.org, token: me.token, configPath: path });
      return;
    }
    out.info(out.c.green(`✔ Logged in to ${url}`));
    out.info(renderFields([
      ['org', `${me.org.name} (${me.org.id})`],
      ['token', `${me.token.name} (role ${me.token.role}${me.token.instanceAdmin ? ', instance admin' : ''})`],
      ['saved to', path],
    ], out.c));
  },
);
