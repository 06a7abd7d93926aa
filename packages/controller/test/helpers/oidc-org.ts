/**
 * A controller (on SQLite or a fresh PostgreSQL database) with org `acme` trusting a loopback OIDC issuer
 * for `ref == "refs/heads/main"`, and an anonymous exchange that answers its HTTP status (the OIDC audit tests).
 */
import { startLoopbackIssuer } from '../../../../test/helpers/oidc-issuer.js';
import { startControllerOn } from './controller-process.js';
import { createTenant } from './fixtures.js';

type T = Parameters<typeof startControllerOn>[1];

export async function orgTrustingALoopbackIssuer(store: 'sqlite' | 'postgres', t: T) {
  const issuer = await startLoopbackIssuer();
  t.after(() => issuer.close());
  const controller = await startControllerOn(store, t, { BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS: '1' });
  const acme = await createTenant(controller, 'acme');
  await acme.admin.createTrustRule({ name: 'main', issuer: issuer.issuer, audience: 'buildmesh', condition: 'ref == "refs/heads/main"', role: 'member' });
  const exchange = async (token: string): Promise<number> =>
    (await fetch(`${controller.url}/v1/oidc/exchange`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, org: 'acme' }) })).status;
  return { issuer, controller, acme, exchange };
}
