/**
 * Loopback is refused for OIDC issuers and webhooks so an org admin cannot probe the controller host's
 * ports — and so are the host's own interface addresses: Linux delivers a connection to any of them over
 * `lo`, past a firewall on eth0, to every service bound to 0.0.0.0, and the refusal text (ECONNREFUSED,
 * "wrong version number", a timeout) or a webhook's `lastError` would tell which ports answer. What must
 * hold: every address of this host is refused, and with neither private allowance set the controller never
 * connects to one of them for a tenant's URL — not even with BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS=1.
 * This host's addresses may all be in a special-purpose range anyway (10.x on CI, TEST-NET here), so the
 * last test gives a fresh network namespace an ordinary public address (93.184.216.34, as on a VPS) and
 * runs the same probe there; it needs `unshare -rn` and `ip` (skips with the reason elsewhere, not on CI).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';
import { addressAllowed, isLoopbackAddress, isPrivateAddress, webhookPolicy } from '../src/webhooks/target-guard.js';
import { oidcPolicy } from '../src/auth/oidc-exchange.js';
import { probeOwnHostAddress } from './helpers/own-host-probe.js';
import { skipUnless } from '../../../test/helpers/system-services.js';
import { recordSkip } from '../../../test/helpers/bwrap.js';

const hostAddresses = Object.values(networkInterfaces())
  .flat()
  .flatMap((a) => (a ? [a.address] : []));
const external = hostAddresses.filter((a) => !isLoopbackAddress(a));
const externalV4 = external.find((a) => !a.includes(':'));

void test("every address of this host is refused, whatever the loopback allowance", () => {
  assert.ok(hostAddresses.length > 0);
  const loopbackAllowed = oidcPolicy({ loopback: true }, true);
  for (const address of hostAddresses) {
    assert.equal(isPrivateAddress(address), true, address);
    assert.equal(addressAllowed(address, webhookPolicy(false), address), false, address);
    // The loopback allowance opens only loopback itself, for a host named as loopback.
    if (!isLoopbackAddress(address)) assert.equal(addressAllowed(address, loopbackAllowed, address), false, address);
  }
  // The private allowance opens them all (a receiver on this host, e.g. in tests).
  for (const address of hostAddresses) assert.equal(addressAllowed(address, webhookPolicy(true), address), true, address);
});

const noAddress = externalV4 === undefined ? 'this host has no IPv4 address besides loopback' : false;
if (noAddress) recordSkip('a non-loopback address');

void test("a tenant's issuer and webhook at this host's own address reach nothing", { skip: noAddress, timeout: 60_000 }, async () => {
  const probe = await probeOwnHostAddress(externalV4!);
  assert.equal(probe.connections, 0, `the controller connected to its own host at ${externalV4}: ${JSON.stringify(probe)}`);
  assert.equal(probe.issuer.added, false, JSON.stringify(probe.issuer));
  assert.equal(probe.webhook.added, false, JSON.stringify(probe.webhook));
  assert.match(probe.webhook.refusal!, /controller host's own|private/);
});

const PUBLIC = '93.184.216.34';
const PUBLIC_V6 = '2606:2800:220:1:248:1893:25c8:1946';
/** Inside a new user and network namespace: a veth pair with ordinary public addresses, then the probe. */
const namespaceScript = [
  'set -e',
  'ip link set lo up',
  'ip link add bm0 type veth peer name bm1',
  `ip addr add ${PUBLIC}/24 dev bm0`,
  `ip -6 addr add ${PUBLIC_V6}/64 dev bm0 nodad`,
  'ip link set bm0 up',
  'ip link set bm1 up',
].join('\n');
const namespaceWorks = process.platform === 'linux' && spawnSync('unshare', ['-rn', 'sh', '-c', namespaceScript], { stdio: 'ignore' }).status === 0;
const noNamespace = skipUnless(namespaceWorks, '`unshare -rn` with `ip link add … type veth` does not work here (user namespaces or iproute2 missing)');
if (noNamespace) recordSkip('network namespaces (unshare, iproute2)');

void test('on a host with a public address of its own, a tenant reaches nothing there, even with loopback issuers allowed', { skip: noNamespace, timeout: 90_000 }, () => {
  const probeScript = fileURLToPath(new URL('./helpers/own-host-probe.ts', import.meta.url));
  const settings = ['BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS=1', 'BUILDMESH_OIDC_ALLOW_PRIVATE_ISSUERS=0', 'BUILDMESH_WEBHOOK_ALLOW_PRIVATE=0'];
  const run = spawnSync('unshare', ['-rn', 'sh', '-c', `${namespaceScript}\nexec "$@"`, 'sh', process.execPath, '--import', 'tsx', probeScript, PUBLIC, ...settings], {
    encoding: 'utf8',
    timeout: 80_000,
  });
  assert.equal(run.status, 0, `probe failed: ${run.stderr}`);
  const probe = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Awaited<ReturnType<typeof probeOwnHostAddress>> & { allowedHostAddresses: string[] };
  assert.equal(probe.connections, 0, `the controller connected to its own public address ${PUBLIC}: ${JSON.stringify(probe)}`);
  assert.equal(probe.issuer.added, false, JSON.stringify(probe.issuer));
  assert.equal(probe.webhook.added, false, JSON.stringify(probe.webhook));
  assert.deepEqual(probe.allowedHostAddresses, [], 'addresses of the namespace the guard would let a tenant reach');
});
