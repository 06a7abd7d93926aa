/**
 * Webhook targets must not reach the controller's own network (SSRF): a URL whose
 * host is, or resolves to, a loopback, private, link-local, CGNAT, multicast or
 * unspecified address is refused unless BUILDMESH_WEBHOOK_ALLOW_PRIVATE=1. The
 * check runs when the webhook is added and again on every connection, inside the
 * socket's own DNS lookup (`guardedLookup`), so the address checked is the address
 * connected to: a name that re-resolves to 127.0.0.1 later (DNS rebinding) is refused.
 * Every address a name resolves to must be public, not just the first.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { ApiError } from '@buildmesh/protocol';

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}
/**
 * IPv4 embedded in IPv6 by forms other than ::ffff:a.b.c.d — IPv4-compatible (::a.b.c.d),
 * IPv4-translated (::ffff:0:a.b.c.d), local-use NAT64, 6to4 and Teredo: on a host with such a
 * tunnel or translator they reach the embedded IPv4 — plus site-local and the discard prefix.
 * A list of its own, checked for IPv6 literals only: BlockList matches IPv4 addresses against
 * ::/96 rules too.
 */
const blockedV6Only = new BlockList();
for (const [net, prefix] of [
  ['::', 96],
  ['::ffff:0:0:0', 96],
  ['64:ff9b:1::', 48],
  ['2002::', 16],
  ['2001::', 32],
  ['fec0::', 10],
  ['100::', 64],
] as const) {
  blockedV6Only.addSubnet(net, prefix, 'ipv6');
}

/** Is this address one a webhook may not reach? (IPv4-mapped IPv6 is checked as IPv4.) */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return blocked.check(mapped[1]!, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  if (family === 4) return blocked.check(address, 'ipv4');
  return blocked.check(address, 'ipv6') || blockedV6Only.check(address, 'ipv6');
}

function refused(host: string, address: string): ApiError {
  return new ApiError('WEBHOOK_TARGET_REFUSED', `${host} resolves to ${address}, a loopback, private or link-local address (BUILDMESH_WEBHOOK_ALLOW_PRIVATE=1 allows it)`);
}

const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1');

/** At add time: a valid http(s) URL without credentials whose host resolves only to public addresses. */
export async function checkWebhookTarget(raw: string, allowPrivate: boolean): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ApiError('VALIDATION_FAILED', 'url: not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ApiError('VALIDATION_FAILED', 'url: only http and https are allowed');
  if (url.username || url.password) throw new ApiError('VALIDATION_FAILED', 'url: credentials in the URL are not allowed (the signature authenticates deliveries)');
  if (allowPrivate) return url;
  const host = hostOf(url);
  if (isIP(host)) {
    if (isPrivateAddress(host)) throw refused(host, host);
    return url;
  }
  const addresses = await new Promise<LookupAddress[]>((resolve, reject) =>
    dnsLookup(host, { all: true }, (err, list) => (err ? reject(new ApiError('VALIDATION_FAILED', `url: ${host} does not resolve (${err.code ?? err.message})`)) : resolve(list))),
  );
  for (const a of addresses) if (isPrivateAddress(a.address)) throw refused(host, a.address);
  return url;
}

/**
 * Every address `url`'s host is or resolves to that a request from the controller must not reach,
 * loopback left out when `allowLoopback` (OIDC issuers on the controller's own host are allowed).
 * Returns the first such address, or null. Throws when the name does not resolve.
 */
export async function blockedAddressOf(url: URL, allowLoopback: boolean): Promise<string | null> {
  const host = hostOf(url);
  const addresses = isIP(host)
    ? [host]
    : (await new Promise<LookupAddress[]>((resolve, reject) => dnsLookup(host, { all: true }, (err, list) => (err ? reject(err) : resolve(list))))).map((a) => a.address);
  const loopback = (a: string) => /^127\./.test(a) || a === '::1' || /^::ffff:127\./i.test(a);
  return addresses.find((a) => isPrivateAddress(a) && !(allowLoopback && loopback(a))) ?? null;
}

/** The connection-time check: a `lookup` for http.request that refuses a name with any non-public address. */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 4);
      const list = addresses as LookupAddress[];
      const bad = allowPrivate ? undefined : list.find((a) => isPrivateAddress(a.address));
      if (bad) return callback(Object.assign(refused(hostname, bad.address), { code: 'WEBHOOK_TARGET_REFUSED' }) as unknown as NodeJS.ErrnoException, '', 4);
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
      callback(null, list[0]!.address, list[0]!.family);
    });
  };
}

/** The delivery-time check for an IP-literal host (no lookup happens for those). */
export function literalRefused(url: URL, allowPrivate: boolean): string | null {
  const host = hostOf(url);
  return !allowPrivate && isIP(host) && isPrivateAddress(host) ? `${host} is a loopback, private or link-local address` : null;
}
