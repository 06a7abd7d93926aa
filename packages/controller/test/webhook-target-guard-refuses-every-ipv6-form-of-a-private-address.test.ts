/**
 * The webhook SSRF guard refuses loopback and private IPv4 however IPv6 embeds it, not only as
 * ::ffff:a.b.c.d: IPv4-compatible (::127.0.0.1), IPv4-translated (::ffff:0:127.0.0.1), 6to4
 * (2002:7f00:1::), Teredo, local-use NAT64, and site-local fec0::/10. The other special-purpose
 * ranges (TEST-NET-1/2/3, 6to4 relay anycast, benchmarking, 240/4, broadcast, IPv6 documentation and
 * benchmarking) are refused in every spelling too. Public addresses pass.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '@buildmesh/protocol';
import { checkWebhookTarget, isPrivateAddress } from '../src/webhooks/target-guard.js';

const refused = [
  'http://[::127.0.0.1]/',
  'http://[::ffff:0:127.0.0.1]/',
  'http://[2002:7f00:1::]/',
  'http://[2002:a00:1::1]/',
  'http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/',
  'http://[64:ff9b:1::a00:1]/',
  'http://[fec0::1]/',
  'http://[100::1]/',
  'http://[::ffff:127.0.0.1]/',
  'http://2130706433/',
  'http://0177.0.0.1/',
  'http://0x7f.1/',
];

/** Special-purpose IPv4 addresses, each also written as IPv4-mapped, -compatible, NAT64 and 6to4 IPv6. */
const specialV4 = ['192.0.2.1', '198.51.100.7', '203.0.113.200', '192.88.99.1', '198.18.0.1', '198.19.255.254', '240.0.0.1', '255.255.255.255'];
const hex = (v4: string) => {
  const [a, b, c, d] = v4.split('.').map(Number) as [number, number, number, number];
  return `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
};
const specialSpellings = specialV4.flatMap((v4) => [
  `http://${v4}/`,
  `http://[::ffff:${v4}]/`,
  `http://[::${v4}]/`,
  `http://[64:ff9b::${v4}]/`,
  `http://[2002:${hex(v4)}::1]/`,
]);
const specialV6 = ['http://[2001:db8::1]/', 'http://[2001:DB8:ffff::]/', 'http://[3fff::1]/', 'http://[2001:2::5]/'];

void test('every IPv6 form of a loopback or private IPv4 is refused at add time', async () => {
  for (const url of refused) {
    await assert.rejects(checkWebhookTarget(url, false), (e: unknown) => e instanceof ApiError && e.code === 'WEBHOOK_TARGET_REFUSED', url);
  }
});

void test('special-purpose addresses are refused in every spelling', async () => {
  for (const url of [...specialSpellings, ...specialV6]) {
    await assert.rejects(checkWebhookTarget(url, false), (e: unknown) => e instanceof ApiError && e.code === 'WEBHOOK_TARGET_REFUSED', url);
    // The hostname as the URL parser writes it (e.g. [::ffff:c000:201]) is what the connection checks.
    assert.equal(isPrivateAddress(new URL(url).hostname.replace(/^\[(.*)\]$/, '$1')), true, url);
  }
  // The private allowance still lets them through (an operator's own network).
  assert.equal((await checkWebhookTarget('http://192.0.2.1/hook', true)).pathname, '/hook');
});

void test('public addresses, v4 and v6, are still allowed', async () => {
  for (const address of ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946', '2a00:1450:4001:82a::200e', '::ffff:93.184.216.34', '192.0.3.1', '198.51.101.1', '203.0.114.1', '198.20.0.1', '223.255.255.254', '2001:db9::1']) {
    assert.equal(isPrivateAddress(address), false, address);
  }
  assert.equal((await checkWebhookTarget('http://[2606:2800:220:1:248:1893:25c8:1946]/hook', false)).pathname, '/hook');
});
