/**
 * Attacker review: the bad-input fuzz (bad-input-never-answers-5xx) runs on SQLite only, and SQLite
 * stores U+0000 where PostgreSQL refuses it ("invalid byte sequence for encoding UTF8: 0x00") and jsonb
 * refuses \u0000 and lone surrogates. This runs the text-shaped part of it on PostgreSQL: every JSON
 * body leaf and every query parameter of every route in turn set to NUL, NUL inside text, a lone
 * surrogate and a bidi override. No answer may be ≥ 500, and a refused request writes nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createTestDatabase, pgSkip } from '../../../../test/helpers/postgres.js';
import { fillPath, leaves, loadOperations, sample, withLeaf } from './helpers/openapi.js';
import { discover, send, validRequest, type Route, type SendOptions } from './helpers/requests.js';
import { buildWorld, snapshot } from './helpers/world.js';

const LEAF_VALUES: unknown[] = ['\u0000', 'a\u0000b', '\ud800', 'x\u202ey'];
const QUERY_VALUES = ['%00', 'a%00b', '%ED%A0%80'];

test('on PostgreSQL, NUL, lone surrogates and bidi overrides in every body leaf and query parameter never answer 5xx', { skip: pgSkip, timeout: 600_000 }, async (t) => {
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const world = await buildWorld({ BUILDMESH_DATABASE_URL: database.url, BUILDMESH_ENCRYPTION_KEY: randomBytes(32).toString('base64'), BUILDMESH_BODY_IDLE_TIMEOUT_MS: '3000' });
  const { controller } = world;
  try {
    const { operations, resolve } = await loadOperations(controller.url);
    // Destructive routes last, as in the SQLite fuzz.
    const rank = (r: Route) => (r.op.method === 'DELETE' ? 1 : 0) + (/\/finish$/.test(r.op.path) ? 2 : 0) + (/\/(cancel|retry|rotate)$/.test(r.op.path) ? 3 : 0);
    const routes = (await discover(world, operations)).sort((a, b) => rank(a) - rank(b));
    const failures: string[] = [];
    let cases = 0;
    let baseline = await snapshot(controller);
    const attempt = async (route: Route, what: string, request: SendOptions) => {
      cases++;
      const r = await send(controller.port, { token: route.credential, ...request });
      const label = `${route.op.method} ${route.op.path} [${what.slice(0, 80)}] → ${r.status}`;
      if (r.status === undefined || r.status >= 500) failures.push(`${label}: ${r.text.slice(0, 200)}`);
      const now = await snapshot(controller);
      if (r.status !== undefined && r.status >= 400 && now !== baseline) failures.push(`${label}: a refused request wrote to the store or the blobs`);
      baseline = now;
    };
    for (const route of routes) {
      const valid = await validRequest(route, resolve);
      const base = fillPath(route.op.path, route.pathValues);
      for (const p of route.op.params.filter((p) => p.in === 'query')) {
        for (const v of QUERY_VALUES) await attempt(route, `query ${p.name}=${v}`, { ...valid, path: `${base}?${p.name}=${v}` });
      }
      if (route.media === 'json' && route.op.body) {
        const good = sample(route.op.body, resolve);
        for (const leaf of leaves(good)) {
          for (const value of LEAF_VALUES) {
            const body = Buffer.from(JSON.stringify(withLeaf(good, leaf, value) ?? null));
            await attempt(route, `${leaf.join('.') || '(root)'}=${JSON.stringify(value)}`, { method: valid.method, path: valid.path, body, contentType: 'application/json' });
          }
        }
      }
    }
    assert.ok(controller.alive(), 'the controller is still up');
    assert.deepEqual(failures, [], failures.slice(0, 40).join('\n'));
    console.log(`postgres text fuzz: ${routes.length} routes, ${cases} cases, none ≥ 500`);
  } finally {
    await controller.dispose();
  }
});
