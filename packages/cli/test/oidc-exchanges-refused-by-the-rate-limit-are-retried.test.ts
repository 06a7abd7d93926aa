/**
 * The documented nginx config answers OIDC exchanges past 10 a second per address (bursts of 20) with
 * 429 RATE_LIMITED. A CI matrix whose jobs share one egress address meets it when they start together:
 * the CLI waits and tries again rather than failing the job. Other refusals are not retried.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { ApiError } from '@buildmesh/protocol';
import { connectForCi } from '../src/oidc.js';
import { createOutput } from '../src/output.js';

async function exchanger(t: TestContext, answers: Array<{ status: number; code?: string }>): Promise<{ url: string; calls: () => number }> {
  let calls = 0;
  const server = createServer((req, res) => {
    req.resume();
    const answer = answers[Math.min(calls++, answers.length - 1)]!;
    const body =
      answer.status === 200
        ? { token: 'bm_exchanged', tokenId: 'tok_1', orgId: 'org_1', role: 'member', project: null, expiresAt: new Date(Date.now() + 3_600_000).toISOString(), ruleId: 'trr_1' }
        : { error: { code: answer.code, message: 'refused' } };
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls: () => calls };
}

function env(t: TestContext, url: string): NodeJS.ProcessEnv {
  const home = mkdtempSync(join(tmpdir(), 'buildmesh-oidc-retry-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  return { XDG_CONFIG_HOME: home, BUILDMESH_URL: url };
}

test('an exchange nginx refuses with RATE_LIMITED is tried again and signs in', { timeout: 30_000 }, async (t) => {
  const server = await exchanger(t, [{ status: 429, code: 'RATE_LIMITED' }, { status: 429, code: 'RATE_LIMITED' }, { status: 200 }]);
  const { connection } = await connectForCi('a.b.c', 'acme', createOutput({ json: true }), env(t, server.url));
  assert.equal(connection.token, 'bm_exchanged');
  assert.equal(server.calls(), 3);
});

test('a refused token is not retried, and a lasting rate limit ends in RATE_LIMITED', { timeout: 60_000 }, async (t) => {
  const refused = await exchanger(t, [{ status: 401, code: 'OIDC_TOKEN_REFUSED' }]);
  await assert.rejects(connectForCi('a.b.c', 'acme', createOutput({ json: true }), env(t, refused.url)), (err: unknown) => err instanceof ApiError && err.code === 'OIDC_TOKEN_REFUSED');
  assert.equal(refused.calls(), 1);
  const limited = await exchanger(t, [{ status: 429, code: 'RATE_LIMITED' }]);
  await assert.rejects(connectForCi('a.b.c', 'acme', createOutput({ json: true }), env(t, limited.url)), (err: unknown) => err instanceof ApiError && err.code === 'RATE_LIMITED');
  assert.equal(limited.calls(), 5, 'a bounded number of tries');
});
