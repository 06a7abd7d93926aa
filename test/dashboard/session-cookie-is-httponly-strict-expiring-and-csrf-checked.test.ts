/**
 * Dashboard sessions over plain HTTP against a real controller: the cookie's flags (HttpOnly,
 * SameSite=Strict, Secure only behind HTTPS), a state-changing request with the cookie but
 * without the CSRF token (or with a wrong one) is refused, an expired, signed-out or
 * token-revoked session stops working, and the dashboard never shadows /v1, /health or /metrics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CSRF_HEADER, SESSION_COOKIE, type Session } from '@buildmesh/protocol';
import { DATABASE_FILE } from '../../packages/controller/src/backup.js';
import { startTestController, type TestController } from '../helpers/controller.js';
import { makeFixtureProject, submitBuild } from '../helpers/builds.js';

async function signIn(controller: TestController, token: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${controller.url}/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ token }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  const setCookie = res.headers.get('set-cookie') ?? '';
  const cookie = setCookie.split(';')[0]!;
  return { session: (await res.json()) as Session, setCookie, cookie };
}

void test('session cookie flags, CSRF refusal, expiry, sign-out and token revocation', async (t) => {
  const controller = await startTestController(t, { env: { BUILDMESH_TRUSTED_PROXIES: '127.0.0.1' } });
  const member = await controller.admin.createToken({ name: 'web', role: 'member' });
  const project = makeFixtureProject(t, ['echo hi']);
  const build = await submitBuild(controller.admin, project);

  // A wrong token gets no session and no cookie.
  const wrong = await fetch(`${controller.url}/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'bmt_nope' }) });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers.get('set-cookie'), null);

  const { session, setCookie, cookie } = await signIn(controller, member.secret);
  assert.match(setCookie, new RegExp(`^${SESSION_COOKIE}=ses_`));
  assert.match(setCookie, /; HttpOnly/i);
  assert.match(setCookie, /; SameSite=Strict/i);
  assert.match(setCookie, /; Path=\//i);
  assert.match(setCookie, /; Expires=/i);
  assert.doesNotMatch(setCookie, /; Secure/i, 'plain HTTP: no Secure flag (the browser would drop the cookie)');
  assert.ok(!cookie.includes(member.secret), 'the cookie does not carry the API token');
  assert.equal(session.token.role, 'member');
  const expires = Date.parse(session.expiresAt) - Date.now();
  assert.ok(expires > 11 * 3600_000 && expires <= 12 * 3600_000, `session lasts 12 h (${expires} ms)`);

  // Behind a TLS-terminating proxy the cookie is Secure.
  const viaHttps = await signIn(controller, member.secret, { 'x-forwarded-proto': 'https' });
  assert.match(viaHttps.setCookie, /; Secure/i);

  // Reads work with the cookie alone; the current session answers its CSRF token.
  const me = await fetch(`${controller.url}/v1/me`, { headers: { cookie } });
  assert.equal(me.status, 200);
  // The builds stream answers one JSON page to a client that does not ask for events.
  const page = await fetch(`${controller.url}/v1/builds/events`, { headers: { cookie } });
  assert.match(page.headers.get('content-type') ?? '', /json/);
  assert.deepEqual(((await page.json()) as { builds: Array<{ id: string }> }).builds.map((b) => b.id), [build.id]);
  const current = (await (await fetch(`${controller.url}/v1/sessions/current`, { headers: { cookie } })).json()) as Session;
  assert.equal(current.csrfToken, session.csrfToken);

  // Writes need the CSRF token: none, wrong, then right.
  const cancel = (headers: Record<string, string>) => fetch(`${controller.url}/v1/builds/${build.id}/cancel`, { method: 'POST', headers: { cookie, ...headers } });
  const none = await cancel({});
  assert.equal(none.status, 403);
  assert.equal(((await none.json()) as { error: { code: string } }).error.code, 'FORBIDDEN');
  assert.equal((await cancel({ [CSRF_HEADER]: session.csrfToken.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')) })).status, 403);
  assert.equal((await controller.admin.getBuild(build.id)).status, 'queued', 'a refused cancel changed nothing');
  const right = await cancel({ [CSRF_HEADER]: session.csrfToken });
  assert.equal(right.status, 200, await right.text());

  // Expiry: the same cookie stops working once expires_at has passed.
  const db = new Database(join(controller.dataDir, DATABASE_FILE));
  t.after(() => db.close());
  const sessionId = cookie.split('=')[1]!.split('.')[0]!;
  db.prepare('update dashboard_sessions set expires_at = ? where id = ?').run(new Date(Date.now() - 1000).toISOString(), sessionId);
  assert.equal((await fetch(`${controller.url}/v1/me`, { headers: { cookie } })).status, 401);

  // Sign-out revokes (and needs the CSRF token like any write).
  const second = await signIn(controller, member.secret);
  assert.equal((await fetch(`${controller.url}/v1/sessions/current`, { method: 'DELETE', headers: { cookie: second.cookie } })).status, 403);
  const out = await fetch(`${controller.url}/v1/sessions/current`, { method: 'DELETE', headers: { cookie: second.cookie, [CSRF_HEADER]: second.session.csrfToken } });
  assert.equal(out.status, 200);
  assert.match(out.headers.get('set-cookie') ?? '', new RegExp(`^${SESSION_COOKIE}=;`));
  assert.equal((await fetch(`${controller.url}/v1/me`, { headers: { cookie: second.cookie } })).status, 401);

  // Revoking the API token ends its sessions.
  const third = await signIn(controller, member.secret);
  assert.equal((await fetch(`${controller.url}/v1/me`, { headers: { cookie: third.cookie } })).status, 200);
  await controller.admin.revokeToken(member.token.id);
  assert.equal((await fetch(`${controller.url}/v1/me`, { headers: { cookie: third.cookie } })).status, 401);
});

void test('the dashboard is served with a strict CSP and never shadows the API', async (t) => {
  const controller = await startTestController(t);
  for (const [path, encoding] of [
    ['/', 'identity'],
    ['/', 'gzip, br'],
    ['/builds/bld_00000000000000000000000000', 'identity'],
    ['/install/x', 'gzip'],
    ['/workers', 'identity'],
  ] as const) {
    const res = await fetch(controller.url + path, { headers: { 'accept-encoding': encoding } });
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/, 'no inline script, no CDN');
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const html = await res.text();
    assert.doesNotMatch(html, /<script>(?!<\/script>)|<script(?![^>]*\bsrc="\/assets\/)[^>]*>/, 'every script is a same-origin file');
    assert.doesNotMatch(html, /https?:\/\//, 'nothing from another origin');
  }
  const script = /src="(\/assets\/app-[^"]+\.js)"/.exec(await (await fetch(controller.url)).text())![1]!;
  const js = await fetch(controller.url + script, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type') ?? '', /javascript/);
  assert.match(js.headers.get('cache-control') ?? '', /immutable/);

  for (const path of ['/v1/nope', '/v1/builds/bld_00000000000000000000000000/nope', '/healthz-not', '/assets/missing.js']) {
    const res = await fetch(controller.url + path);
    if (path === '/healthz-not') continue; // an app route like any other
    assert.equal(res.status, 404, path);
    assert.match(res.headers.get('content-type') ?? '', /json/, `${path} stays a JSON 404`);
  }
  assert.equal((await fetch(`${controller.url}/health`)).status, 200);
  assert.match((await fetch(`${controller.url}/health`)).headers.get('content-type') ?? '', /json/);
  assert.equal((await fetch(`${controller.url}/v1/me`)).status, 401);
  assert.equal((await fetch(`${controller.url}/metrics`)).status, 401);
});
