/**
 * The documented nginx config (docs/deploy/nginx-buildmesh.conf) limits OIDC token exchanges, which
 * are unauthenticated and cost a signature check each, to 10 a second per client address with bursts
 * of 20; past that nginx answers 429 with the API's own error body (RATE_LIMITED), which the client
 * reads as any other API error. Other routes are not limited.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError, BuildMeshClient } from '@buildmesh/protocol';
import { startTestController } from '../helpers/controller.js';
import { nginxSkip, startNginx } from '../helpers/replicas.js';

test('a burst of OIDC exchanges through nginx meets 429 RATE_LIMITED past 20; other routes are not limited', { skip: nginxSkip, timeout: 60_000 }, async (t) => {
  const controller = await startTestController(t);
  const balancer = await startNginx(t, [controller.port]);
  const anonymous = new BuildMeshClient({ url: balancer, token: '' });
  const codes = await Promise.all(
    Array.from({ length: 60 }, () =>
      anonymous.exchangeOidcToken('not-a-jwt', 'default').then(
        () => 'accepted',
        (err: unknown) => (err instanceof ApiError ? err.code : String(err)),
      ),
    ),
  );
  const limited = codes.filter((c) => c === 'RATE_LIMITED').length;
  assert.ok(limited >= 10, `the burst past 20 is refused by nginx (${limited} of 60: ${[...new Set(codes)].join(', ')})`);
  assert.ok(codes.filter((c) => c === 'OIDC_TOKEN_REFUSED').length >= 20, 'the first 20 reach the controller and are refused by it');
  assert.deepEqual([...new Set(codes)].sort(), ['OIDC_TOKEN_REFUSED', 'RATE_LIMITED']);

  const admin = new BuildMeshClient({ url: balancer, token: controller.adminToken });
  const others = await Promise.allSettled(Array.from({ length: 40 }, () => admin.listBuilds({ limit: 1 })));
  assert.equal(others.filter((r) => r.status === 'rejected').length, 0, 'other routes are not limited');
});
