/**
 * Attacker review: POST /v1/oidc/exchange is public. Its `org` is any string of up to
 * 64 characters and the issuer is read from the token before it is verified; both go straight into the
 * trust-rule query. PostgreSQL cannot take NUL in text (22021), so an anonymous caller gets a 500 INTERNAL
 * (and an error-level log line with a stack) for `org: "a\u0000"` or a token whose `iss` holds a NUL,
 * where every other bad value reads the one 401 OIDC_TOKEN_REFUSED. SQLite answers 401. What must hold,
 * on both stores: a NUL anywhere in org or iss is a 4xx (400 VALIDATION_FAILED for org, the generic 401
 * for the token), never a 5xx.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pgSkip } from '../../../test/helpers/postgres.js';
import { startControllerOn } from './helpers/controller-process.js';
import { createTenant } from './helpers/fixtures.js';

const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
/** An unsigned-looking JWT: the exchange reads its issuer before any signature check. */
const jwt = (payload: object): string => `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(payload)}.${b64('sig')}`;

for (const store of ['sqlite', 'postgres'] as const) {
  test(
    `${store}: a NUL in the exchange's org or in the token's issuer is a 4xx, never a 500`,
    { skip: store === 'postgres' ? pgSkip : false, timeout: 60_000 },
    async (t) => {
      const controller = await startControllerOn(store, t);
      const acme = await createTenant(controller, 'acme');
      const good = jwt({ iss: 'https://token.actions.githubusercontent.com', sub: 'x', aud: 'buildmesh', exp: 9e9 });
      const bodies = [
        { token: good, org: 'ac\u0000me' },
        { token: good, org: `${acme.org.id}\u0000` },
        { token: jwt({ iss: 'https://token.actions.githubusercontent.com/\u0000', sub: 'x', aud: 'buildmesh', exp: 9e9 }), org: 'acme' },
        { token: jwt({ iss: 'https://x\u0000y', sub: 'x', aud: 'buildmesh', exp: 9e9 }), org: acme.org.id },
      ];
      for (const body of bodies) {
        const response = await fetch(`${controller.url}/v1/oidc/exchange`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        const answer = (await response.json()) as { error?: { code?: string } };
        assert.ok(response.status >= 400 && response.status < 500, `${JSON.stringify(body.org)}: ${response.status} ${JSON.stringify(answer)}`);
        assert.ok(['VALIDATION_FAILED', 'OIDC_TOKEN_REFUSED'].includes(answer.error?.code ?? ''), JSON.stringify(answer));
      }
      assert.ok(controller.alive());
    },
  );
}
