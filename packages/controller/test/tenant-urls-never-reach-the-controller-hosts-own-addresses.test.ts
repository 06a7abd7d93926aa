/**
 * Loopback is refused for OIDC issuers and webhooks so an org admin cannot probe the controller host's
 * ports, but the host's own interface addresses are not in the blocklist: on a host with a public (or
 * TEST-NET) address on eth0, `https://<that address>:<port>` reaches every service bound to 0.0.0.0, and
 * Linux routes it over `lo`, past a firewall on eth0. The refusal text is a port oracle (ECONNREFUSED,
 * "wrong version number", a certificate error, or a 5 s timeout), and webhook deliveries show the same in
 * `lastError`. What must hold: with neither allowance set, the controller never connects to one of its
 * own host's addresses for a tenant's URL. Skips when the host has no non-loopback, non-private address
 * (nothing the blocklist would miss).
 * TODO (security, found by review): fails today on a host such as this one (192.0.2.2 on eth0).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { isPrivateAddress } from '../src/webhooks/target-guard.js';
import { startControllerProcess } from './helpers/controller-process.js';
import { createTenant } from './helpers/fixtures.js';

const ownAddresses = Object.values(networkInterfaces())
  .flat()
  .filter((a) => a !== undefined && !a.internal && a.family === 'IPv4' && !isPrivateAddress(a.address))
  .map((a) => a!.address);

test("tenants' URLs never reach the controller host's own addresses", { todo: 'own-host addresses are not blocked: not fixed yet', skip: ownAddresses.length === 0 ? 'this host has no address the blocklist misses' : false, timeout: 60_000 }, async () => {
  const address = ownAddresses[0]!;
  const sockets: Socket[] = [];
  const listener = createServer((socket) => {
    sockets.push(socket);
    socket.destroy();
  });
  await new Promise<void>((resolve) => listener.listen(0, '0.0.0.0', resolve));
  const port = (listener.address() as AddressInfo).port;
  const controller = await startControllerProcess();
  try {
    const evil = await createTenant(controller, 'evil');
    const issuer = `https://${address}:${port}`;
    const added = await evil.admin
      .createTrustRule({ name: 'own-host', issuer, audience: 'buildmesh', condition: 'repository == "x"', role: 'member' })
      .then(() => true, () => false);
    if (added) {
      const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const token = `${b64({ alg: 'ES256', kid: 'k' })}.${b64({ iss: issuer, sub: 'x', aud: 'buildmesh', exp: Math.floor(Date.now() / 1000) + 300 })}.AAAA`;
      await fetch(`${controller.url}/v1/oidc/exchange`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    }
    const hook = await evil.admin.createWebhook({ url: `http://${address}:${port}/hook`, events: ['build.queued'] }).catch(() => undefined);
    if (hook) await evil.admin.testWebhook(hook.webhook.id);
    assert.equal(sockets.length, 0, `the controller connected to its own host at ${address}:${port} (issuer added: ${added}, webhook added: ${hook !== undefined})`);
  } finally {
    listener.close();
    await controller.dispose();
  }
});
