/**
 * The webhook SSRF guard refuses loopback and private IPv4 however IPv6 embeds it, not only as
 * ::ffff:a.b.c.d: IPv4-compatible (::127.0.0.1), IPv4-translated (::ffff:0:127.0.0.1), 6to4
 * (2002:7f00:1::), Teredo, local-use NAT64, and site-local fec0::/10. Public addresses pass.
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

void test('every IPv6 form of a loopback or private IPv4 is refused at add time', async () => {
  for (const url of refused) {
    await assert.rejects(checkWebhookTarget(url, false), (e: unknown) => e instanceof ApiError && e.code === 'WEBHOOK_TARGET_REFUSED', url);
  }
});

void test('public addresses, v4 and v6, are still allowed', async () => {
  for (const address of ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946', '2a00:1450:4001:82a::200e', '::ffff:93.184.216.34']) {
    assert.equal(isPrivateAddress(address), false, address);
  }
  assert.equal((await checkWebhookTarget('http://[2606:2800:220:1:248:1893:25c8:1946]/hook', false)).pathname, '/hook');
});
