/**
 * `buildmesh login --sso`: the loopback-redirect flow. The CLI listens on 127.0.0.1 (a free port),
 * opens the browser at the controller's /v1/sso/login with that port and a random state; after the
 * identity provider, the controller redirects the browser to http://127.0.0.1:<port>/callback with
 * an API token of the mapped org and role (valid 12 hours) and the state, which must be ours.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CliError, type Output } from './output.js';

const WAIT_MS = 10 * 60 * 1000;

function openInBrowser(url: string): void {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    spawn(command, [url], { stdio: 'ignore', detached: true }).on('error', () => undefined).unref();
  } catch {
    // No browser opener: the URL is printed anyway.
  }
}

export async function ssoToken(controllerUrl: string, out: Output, options: { browser: boolean }): Promise<string> {
  const state = randomBytes(24).toString('base64url');
  let settle!: { resolve: (token: string) => void; reject: (err: Error) => void };
  const done = new Promise<string>((resolve, reject) => (settle = { resolve, reject }));
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/callback') return void res.writeHead(404).end();
    const token = url.searchParams.get('token');
    if (url.searchParams.get('state') !== state || !token) {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('This sign-in was not started by this buildmesh login.');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('Signed in to BuildMesh. You can close this tab and return to the terminal.');
    settle.resolve(token);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const login = `${controllerUrl}/v1/sso/login?cli_port=${port}&cli_state=${state}`;
  out.info(`Sign in with your identity provider in the browser:\n\n  ${login}\n`);
  if (options.browser) openInBrowser(login);
  const timer = setTimeout(() => settle.reject(new CliError('SSO_TIMEOUT', 'no sign-in came back within 10 minutes', 'run buildmesh login --sso again')), WAIT_MS);
  try {
    return await done;
  } finally {
    clearTimeout(timer);
    server.closeAllConnections();
    server.close();
  }
}
