/**
 * oidc_exchange_p50_ms: one POST /v1/oidc/exchange round trip (verify the ID token with the issuer's
 * cached keys, match the named org's trust rules, store the short-lived token, audit) against a real controller,
 * with a loopback issuer (BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS=1). The first exchange fetches discovery and keys and is not counted; the
 * issuer's key fetches are reported so a cache miss would show.
 */
import { BuildMeshClient } from '@buildmesh/protocol';
import { startLoopbackIssuer } from '../test/helpers/oidc-issuer.js';
import { startController } from './support/processes.js';
import { percentile } from './support/measure.js';

export async function benchOidcExchange(rounds = 300): Promise<Record<string, number>> {
  const issuer = await startLoopbackIssuer();
  const controller = await startController({ BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS: '1' });
  try {
    const rule = await controller.admin.createTrustRule({
      name: 'bench',
      issuer: issuer.issuer,
      audience: 'buildmesh',
      condition: 'repository == "acme/app" && ref == "refs/heads/*"',
      role: 'member',
    });
    const anon = new BuildMeshClient({ url: controller.url, timeoutMs: 10_000 });
    const claims = { sub: 'repo:acme/app:ref:refs/heads/main', repository: 'acme/app', ref: 'refs/heads/main', aud: 'buildmesh' };
    const tokens = await Promise.all(Array.from({ length: rounds + 10 }, (_, i) => issuer.sign({ ...claims, jti: `j${i}` })));
    const samples: number[] = [];
    for (const [i, token] of tokens.entries()) {
      const start = performance.now();
      await anon.exchangeOidcToken(token, rule.orgId);
      if (i >= 10) samples.push(performance.now() - start);
    }
    return { oidc_exchange_p50_ms: percentile(samples, 50), oidc_exchange_p99_ms: percentile(samples, 99), oidc_jwks_fetches: issuer.jwksFetches };
  } finally {
    await controller.stop();
    await issuer.close();
  }
}
