/**
 * What a tenant reaches at one of the controller host's addresses: a TCP listener on 0.0.0.0 counts
 * connections while a real controller (started here, with `env` as its settings) is asked, as an
 * org admin, to add an OIDC issuer and a webhook at `address:port`, run an exchange against that
 * issuer and send the webhook's test ping. Run as a script (`node --import tsx own-host-probe.ts
 * <address> [KEY=VALUE…]`, e.g. inside another network namespace) it prints the result as JSON, with
 * the addresses of that host the guard would let a tenant's URL reach (`allowedHostAddresses`).
 */
import { createServer, type AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isPrivateAddress } from '../../src/webhooks/target-guard.js';
import { startControllerProcess } from './controller-process.js';
import { createTenant } from './fixtures.js';

export interface OwnHostProbe {
  /** Connections the listener at `address:port` accepted while the controller served the tenant. */
  connections: number;
  issuer: { added: boolean; refusal?: string; exchange?: string };
  webhook: { added: boolean; refusal?: string; ping?: string };
}

export async function probeOwnHostAddress(address: string, env: Record<string, string> = {}): Promise<OwnHostProbe> {
  let connections = 0;
  const listener = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => listener.listen(0, address.includes(':') ? '::' : '0.0.0.0', resolve));
  const port = (listener.address() as AddressInfo).port;
  const hostPort = `${address.includes(':') ? `[${address}]` : address}:${port}`;
  const controller = await startControllerProcess({ env });
  try {
    const evil = await createTenant(controller, 'evil');
    const issuerUrl = `https://${hostPort}`;
    const issuer: OwnHostProbe['issuer'] = await evil.admin
      .createTrustRule({ name: 'own-host', issuer: issuerUrl, audience: 'buildmesh', condition: 'repository == "x"', role: 'member' })
      .then(() => ({ added: true }), (e: Error) => ({ added: false, refusal: e.message }));
    if (issuer.added) {
      const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const token = `${b64({ alg: 'ES256', kid: 'k' })}.${b64({ iss: issuerUrl, sub: 'x', aud: 'buildmesh', exp: Math.floor(Date.now() / 1000) + 300 })}.AAAA`;
      const res = await fetch(`${controller.url}/v1/oidc/exchange`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token, org: evil.org.id }),
      });
      issuer.exchange = `${res.status} ${await res.text()}`;
    }
    const webhook: OwnHostProbe['webhook'] = await evil.admin
      .createWebhook({ url: `http://${hostPort}/hook`, events: ['build.queued'] })
      .then(async (hook) => ({ added: true, ping: JSON.stringify(await evil.admin.testWebhook(hook.webhook.id)) }), (e: Error) => ({ added: false, refusal: e.message }));
    return { connections, issuer, webhook };
  } finally {
    listener.close();
    await controller.dispose();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [address, ...settings] = process.argv.slice(2);
  const env = Object.fromEntries(settings.map((s) => [s.slice(0, s.indexOf('=')), s.slice(s.indexOf('=') + 1)]));
  const probe = await probeOwnHostAddress(address!, env);
  const allowedHostAddresses = Object.values(networkInterfaces()).flat().flatMap((a) => (a && !isPrivateAddress(a.address) ? [a.address] : []));
  process.stdout.write(`${JSON.stringify({ ...probe, allowedHostAddresses })}\n`);
}
