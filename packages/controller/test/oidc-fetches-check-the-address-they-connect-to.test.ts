/**
 * OIDC discovery and key-set fetches check the address at connect time, inside the connection's own
 * DNS lookup: a name that answered public when the rule was added and private when the controller
 * connects (DNS rebinding) is refused, and so is jose's later key-set refetch (an unknown kid). The
 * private answers include 0.0.0.0 and 127.0.0.1, which reach this test's loopback server: a
 * connection there would be counted (loopback is allowed only when the operator allows loopback
 * issuers, and then only for a host named as loopback, never for a public name that resolves there).
 * Redirects are not followed; IP literals in any spelling are checked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LookupAddress } from 'node:dns';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { ApiErrors, type TrustRule } from '@buildmesh/protocol';
import { ExchangeRefused, issuerAddressRefused, keySetMayBeLoopback, OidcExchanger } from '../src/auth/oidc-exchange.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import type { Store } from '../src/store/store.js';
import type { Resolver } from '../src/webhooks/target-guard.js';
import { refusal } from './helpers/expect.js';

/** The refusal of an exchange: one generic message for the caller, and why (`reason`) for the logs. */
async function refusedExchange(promise: Promise<unknown>): Promise<ExchangeRefused> {
  const err = await refusal(promise);
  assert.ok(err instanceof ExchangeRefused, String(err));
  assert.equal(err.message, ApiErrors.OIDC_TOKEN_REFUSED.message, 'the caller is told nothing more');
  return err;
}

const AUD = 'buildmesh-test';
const CLAIMS = { sub: 'repo:acme/app:ref:refs/heads/main', repository: 'acme/app', aud: AUD };
const PRIVATE_ANSWERS = ['0.0.0.0', '127.0.0.1', '::ffff:127.0.0.1', '10.0.0.1', '169.254.169.254', '::ffff:10.0.0.1', '::ffff:a9fe:a9fe', '100.64.0.1', 'fd00::1'];

const family = (address: string) => (address.includes(':') ? 6 : 4);

/** A resolver answering `answers(name, n)` for the n-th lookup of a name (1-based), counting lookups. */
function scriptedResolver(answers: (name: string, n: number) => string) {
  const lookups = new Map<string, number>();
  const resolve: Resolver = async (name) => {
    const n = (lookups.get(name) ?? 0) + 1;
    lookups.set(name, n);
    const address = answers(name, n);
    return [{ address, family: family(address) } satisfies LookupAddress];
  };
  return { resolve, lookups: (name: string) => lookups.get(name) ?? 0 };
}

async function withStore<T>(run: (store: Store, addRule: (issuer: string) => Promise<void>) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'buildmesh-oidc-guard-'));
  const store = await openSqliteStore(join(dir, 'controller.db'));
  const org = await store.createOrg({ id: 'org_acme', name: 'acme' });
  let n = 0;
  const addRule = async (issuer: string) => {
    const rule: TrustRule = { id: `trr_rule${n++}`, orgId: org.id, name: `ci-${n}`, issuer, audience: AUD, condition: 'repository == "acme/app"', role: 'member', project: null, ttlSeconds: 60, createdAt: new Date().toISOString() };
    await store.insertTrustRule(rule);
  };
  try {
    return await run(store, addRule);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function sign(issuer: string, key: CryptoKey, kid: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ ...CLAIMS, iss: issuer, iat: now, exp: now + 300 }).setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' }).sign(key);
}

/** A TCP listener on 127.0.0.1 that counts connections (and drops them). */
async function connectionCounter(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let count = 0;
  const server: Server = createTcpServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, connections: () => count, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test('a rebinding issuer name, public when the rule is added and private when the controller connects, is refused before any connection', { timeout: 60_000 }, async () => {
  const { privateKey } = await generateKeyPair('ES256');
  const listener = await connectionCounter();
  try {
    await withStore(async (store, addRule) => {
      for (const answer of PRIVATE_ANSWERS) {
        const issuer = `https://rebind.example:${listener.port}`;
        const dns = scriptedResolver((_, n) => (n === 1 ? '93.184.216.34' : answer));
        assert.equal(await issuerAddressRefused(issuer, {}, dns.resolve), null, 'the add-time check saw the public answer');
        await addRule(issuer);
        const err = await refusedExchange(new OidcExchanger(store, {}, { resolve: dns.resolve }).exchange(await sign(issuer, privateKey, 'k1'), 'acme'));
        assert.equal(err.code, 'OIDC_TOKEN_REFUSED', answer);
        assert.match(err.reason, new RegExp(`rebind\\.example resolves to ${answer.replace(/\./g, '\\.')}, which is a (private|loopback) address`), answer);
        assert.equal(dns.lookups('rebind.example'), 2, 'the connection did its own lookup');
        assert.equal(listener.connections(), 0, `never connected (${answer})`);
      }

      // IP literals, however spelled, are checked without a lookup: decimal, hex, short, IPv6-mapped.
      for (const [issuer, address] of [
        [`https://0:${listener.port}`, '0.0.0.0'],
        ['https://0xa.1', '10.0.0.1'],
        ['https://2852039166', '169.254.169.254'],
        ['https://[::ffff:a9fe:a9fe]', '::ffff:a9fe:a9fe'],
        ['https://[::ffff:10.0.0.1]', '::ffff:a00:1'],
      ] as const) {
        const parsed = new URL(issuer).href.replace(/\/$/, '');
        const dns = scriptedResolver(() => '93.184.216.34');
        await addRule(parsed);
        const err = await refusedExchange(new OidcExchanger(store, {}, { resolve: dns.resolve }).exchange(await sign(parsed, privateKey, 'k1'), 'acme'));
        assert.equal(err.code, 'OIDC_TOKEN_REFUSED', issuer);
        assert.match(err.reason, new RegExp(`${address.replace(/\./g, '\\.')} is a private address`), issuer);
        assert.equal(listener.connections(), 0, `never connected (${issuer})`);
      }

      // The control: with the operator's allowance the same rebinding answer does connect (here, to the listener).
      const issuer = `https://allowed.example:${listener.port}`;
      await addRule(issuer);
      const dns = scriptedResolver(() => '0.0.0.0');
      const err = await refusedExchange(new OidcExchanger(store, { private: true }, { resolve: dns.resolve }).exchange(await sign(issuer, privateKey, 'k1'), 'acme'));
      assert.match(err.reason, /cannot read the issuer's discovery document/);
      assert.equal(listener.connections(), 1, 'allowed: the connection went through');
    });
  } finally {
    await listener.close();
  }
});

test("jose's later key-set refetch goes through the guard; redirects are never followed", { timeout: 60_000 }, async () => {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const rotated = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'key-1', alg: 'ES256', use: 'sig' };
  const hits = { jwks: 0, landed: 0, connections: 0 };
  let issuer = '';
  const server = createHttpServer((req, res) => {
    const send = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url === '/.well-known/openid-configuration') return send({ issuer, jwks_uri: `http://localhost:${port}/jwks` });
    if (req.url === '/jwks') {
      hits.jwks++;
      return send({ keys: [jwk] });
    }
    if (req.url === '/public-keys/.well-known/openid-configuration') return send({ issuer: `${issuer}/public-keys`, jwks_uri: `https://keys.example:${port}/jwks` });
    if (req.url === '/redirecting/.well-known/openid-configuration') return res.writeHead(302, { location: `http://127.0.0.1:${port}/landed` }).end();
    if (req.url === '/landed') hits.landed++;
    res.writeHead(404).end();
  });
  server.on('connection', () => hits.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  issuer = `http://127.0.0.1:${port}`;
  try {
    await withStore(async (store, addRule) => {
      await addRule(issuer);
      // The key set lives on "localhost", a name whose answer the test changes after the first fetch.
      let answer = '127.0.0.1';
      const dns = scriptedResolver(() => answer);
      // Without the operator's BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS, the loopback issuer is refused before any connection.
      const refusedHere = await refusedExchange(new OidcExchanger(store, {}, { resolve: dns.resolve }).exchange(await sign(issuer, privateKey, 'key-1'), 'acme'));
      assert.match(refusedHere.reason, /127\.0\.0\.1 is a loopback address \(the controller's own host\), refused unless the operator sets BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS=1/);
      assert.equal(hits.connections, 0, 'a loopback issuer is never connected to without the opt-in');

      const exchanger = new OidcExchanger(store, { loopback: true }, { resolve: dns.resolve, keyCooldownMs: 0 });
      assert.equal((await exchanger.exchange(await sign(issuer, privateKey, 'key-1'), 'acme')).rule.issuer, issuer);
      assert.equal(hits.jwks, 1);

      for (const privateAnswer of ['0.0.0.0', '10.0.0.1', '169.254.169.254', '::ffff:10.0.0.1']) {
        answer = privateAnswer;
        const lookupsBefore = dns.lookups('localhost');
        const connectionsBefore: number = hits.connections;
        const err = await refusedExchange(exchanger.exchange(await sign(issuer, rotated.privateKey, 'key-2'), 'acme'));
        assert.equal(err.code, 'OIDC_TOKEN_REFUSED', privateAnswer);
        assert.match(err.reason, /resolves to .*, which is a private address/, privateAnswer);
        assert.equal(dns.lookups('localhost'), lookupsBefore + 1, 'the refetch looked the name up through the guard');
        assert.equal(hits.connections, connectionsBefore, `the refetch never connected (${privateAnswer})`);
        assert.equal(hits.jwks, 1);
      }

      // The control: answering loopback again, the unknown kid does refetch (and the new key is still unknown).
      answer = '127.0.0.1';
      const err = await refusedExchange(exchanger.exchange(await sign(issuer, rotated.privateKey, 'key-2'), 'acme'));
      assert.match(err.reason, /signature does not verify/);
      assert.equal(hits.jwks, 2, 'the unknown kid made jose refetch');

      // A key set under a public name that resolves to loopback: refused, never connected.
      const publicKeys = `${issuer}/public-keys`;
      await addRule(publicKeys);
      const connectionsBefore = hits.connections;
      const onLoopback = await refusedExchange(exchanger.exchange(await sign(publicKeys, privateKey, 'key-1'), 'acme'));
      assert.match(onLoopback.reason, /keys\.example resolves to 127\.0\.0\.1, which is a loopback address/);
      assert.equal(hits.connections, connectionsBefore + 1, 'only the discovery document was fetched');

      // A discovery document answering with a redirect: refused, and the redirect is not followed.
      const redirecting = `${issuer}/redirecting`;
      await addRule(redirecting);
      const redirected = await refusedExchange(exchanger.exchange(await sign(redirecting, privateKey, 'key-1'), 'acme'));
      assert.equal(redirected.code, 'OIDC_TOKEN_REFUSED');
      assert.match(redirected.reason, /HTTP 302 \(redirects are not followed\)/);
      assert.equal(hits.landed, 0);
    });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('a key set may be on loopback only for an issuer named as loopback', () => {
  for (const issuer of ['http://127.0.0.1:4000', 'http://localhost:4000', 'http://[::1]:4000', 'http://127.1:4000']) assert.equal(keySetMayBeLoopback(issuer), true, issuer);
  for (const issuer of ['https://idp.example.com', 'https://localhost.example.com', 'https://10.0.0.1']) assert.equal(keySetMayBeLoopback(issuer), false, issuer);
});
