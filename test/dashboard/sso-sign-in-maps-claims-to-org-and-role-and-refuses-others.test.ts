/**
 * In real Chromium against a real OIDC provider (npm oidc-provider on loopback): "Sign in with SSO"
 * runs the authorization code + PKCE flow, the user's email claim maps to an org and role
 * (BUILDMESH_OIDC_ROLE_MAPPING, first match wins), the session is the dashboard's usual one and
 * Sign out ends it; a user no rule maps is refused; each sign-in is audited. `buildmesh login --sso`
 * completes the same flow through its loopback redirect and saves a working token.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import type { Page } from 'playwright-core';
import { startTestController } from '../helpers/controller.js';
import { freePort } from '../helpers/processes.js';
import { chromiumSkip, newPage, openBrowser } from '../helpers/dashboard.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runJson, spawnCli, waitForExit, waitForOutput } from '../../packages/cli/test/helpers/cli.js';

async function signInAtProvider(page: Page, url: string, email: string): Promise<void> {
  await page.goto(url);
  await page.getByRole('link', { name: 'Sign in with SSO' }).click();
  await page.locator('input[name="login"]').fill(email);
  await page.locator('input[name="password"]').fill('any');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
}

void test('SSO sign-in maps a claim to org and role, refuses an unmapped user, and signs out', { skip: chromiumSkip, timeout: 120_000 }, async (t) => {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const controller = await startTestController(t, {
    env: {
      BUILDMESH_OIDC_ISSUER: issuer,
      BUILDMESH_OIDC_CLIENT_ID: 'buildmesh-dashboard',
      BUILDMESH_OIDC_CLIENT_SECRET: 'a-client-secret-for-the-test',
      BUILDMESH_OIDC_ROLE_MAPPING: 'email == "boss@acme.test" => acme:admin; email == "*@acme.test" => acme:member',
    },
  });
  const acme = await controller.admin.createOrg('acme');

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'buildmesh-dashboard',
        client_secret: 'a-client-secret-for-the-test',
        redirect_uris: [`${controller.url}/v1/sso/callback`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'test', use: 'sig', alg: 'RS256' }] },
    cookies: { keys: ['a-cookie-key-for-the-test'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    findAccount: (_ctx: unknown, id: string) => ({ accountId: id, claims: () => ({ sub: id, email: id, email_verified: true, name: id }) }),
  });
  const server: Server = provider.listen(port, '127.0.0.1');
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const browser = await openBrowser(t);

  // A member by the domain rule: the dashboard's usual session, org and role from the mapping.
  const alice = (await newPage(browser)).page;
  await signInAtProvider(alice, controller.url, 'alice@acme.test');
  await alice.getByRole('navigation', { name: 'Main' }).waitFor();
  assert.equal(await alice.locator('.who .org').innerText(), 'acme');
  assert.equal(await alice.locator('.who .role').innerText(), 'member');
  // Sign out ends the session: a reload shows the sign-in form again.
  await alice.getByRole('button', { name: 'Sign out' }).click();
  await alice.getByLabel('API token').waitFor();
  await alice.reload();
  await alice.getByLabel('API token').waitFor();

  // The more specific rule first: admin.
  const boss = (await newPage(browser)).page;
  await signInAtProvider(boss, controller.url, 'boss@acme.test');
  await boss.getByRole('navigation', { name: 'Main' }).waitFor();
  assert.equal(await boss.locator('.who .role').innerText(), 'admin');

  // Nobody maps this user: refused, no session.
  const mallory = (await newPage(browser)).page;
  await signInAtProvider(mallory, controller.url, 'mallory@evil.test');
  await mallory.getByText(/FORBIDDEN/).waitFor();
  assert.match(await mallory.content(), /mallory@evil\.test may not sign in here/);
  await mallory.goto(controller.url);
  await mallory.getByLabel('API token').waitFor();

  // The CLI: login --sso prints the URL (no browser here), the browser signs in, the CLI saves the token.
  const configHome = mkdtempSync(join(tmpdir(), 'buildmesh-sso-cli-'));
  t.after(() => rmSync(configHome, { recursive: true, force: true }));
  const env = { XDG_CONFIG_HOME: configHome };
  const login = spawnCli(['login', '--url', controller.url, '--sso', '--no-browser'], { env });
  await waitForOutput(login, /\/v1\/sso\/login\?cli_port=\d+&cli_state=/);
  const loginUrl = /(http:\/\/\S+\/v1\/sso\/login\?\S+)/.exec(login.output.stdout)![1]!;
  const carol = (await newPage(browser)).page;
  await carol.goto(loginUrl);
  await carol.locator('input[name="login"]').fill('carol@acme.test');
  await carol.locator('input[name="password"]').fill('any');
  await carol.getByRole('button', { name: 'Sign-in' }).click();
  await carol.getByRole('button', { name: 'Continue' }).click();
  await carol.getByText('Signed in to BuildMesh').waitFor();
  assert.equal((await waitForExit(login)).code, 0, login.output.stderr);
  const me = await runJson<{ org: { id: string }; token: { name: string; role: string } }>(['whoami', '--json'], { env });
  assert.deepEqual([me.org.id, me.token.name, me.token.role], [acme.id, 'sso:carol@acme.test', 'member']);

  const signIns = (await controller.admin.audit()).entries.filter((e) => e.action === 'session.create' && e.actorKind === 'sso');
  assert.deepEqual(signIns.map((e) => [e.actorName, e.orgId, (e.details as { role: string }).role]), [
    ['alice@acme.test', acme.id, 'member'],
    ['boss@acme.test', acme.id, 'admin'],
    ['carol@acme.test', acme.id, 'member'],
  ]);
});
