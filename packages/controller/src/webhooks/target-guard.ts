/**
 * The controller's one SSRF guard, for every request it makes to a URL a tenant named (webhook
 * targets, OIDC issuers and their key sets): a host that is, or resolves to, a private, link-local,
 * CGNAT, multicast, unspecified or other special-purpose address, or one of the controller host's
 * own interface addresses (Linux delivers those over `lo`, to every service bound to 0.0.0.0), is
 * refused — loopback too, unless the caller's policy allows it for hosts named as loopback (a local
 * OIDC test issuer, when the operator sets BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS=1) — unless the
 * operator allows private targets.
 * The check runs when the URL is added and again on every connection, inside the socket's own DNS
 * lookup (`guardedLookup`, used by `guardedGet`), so the address checked is the address connected
 * to: a name that re-resolves to 10.0.0.1 later (DNS rebinding) is refused. Every address a name
 * resolves to must pass, not just the first. Redirects are never followed.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import os from 'node:os';
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
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4],
  ['240.0.0.0', 4], // reserved, and 255.255.255.255
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
  ['2001:db8::', 32], // documentation
  ['3fff::', 20], // documentation (RFC 9637)
  ['2001:2::', 48], // benchmarking
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

/**
 * Is this address one a tenant's URL may not reach? Special-purpose ranges and the controller
 * host's own addresses (IPv4-mapped IPv6 is checked as IPv4; the other IPv6 forms embedding an
 * IPv4 address are refused whole, above).
 */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const bare = mapped ? mapped[1]! : address;
  const family = isIP(bare);
  if (family === 0) return true;
  if (family === 4) return blocked.check(bare, 'ipv4') || isOwnHostAddress(bare);
  return blocked.check(bare, 'ipv6') || blockedV6Only.check(bare, 'ipv6') || isOwnHostAddress(bare);
}

/**
 * One of the addresses of this host's interfaces (all of them, IPv4 and IPv6, any IPv4-mapped
 * form too)? Read afresh on every check — about 0.1 ms, nothing next to a connection — so an
 * interface or address added after start counts at once. A connection to one of them goes over
 * `lo` to whatever listens on 0.0.0.0 here, so it is the loopback refusal by another name. When
 * the interfaces cannot be read, every address counts as the host's own.
 */
export function isOwnHostAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  let interfaces: ReturnType<typeof os.networkInterfaces>;
  try {
    interfaces = os.networkInterfaces();
  } catch {
    return true; // the host's addresses are unknown (a restricted sandbox): refuse rather than guess
  }
  const own = new BlockList();
  for (const entry of Object.values(interfaces).flat()) {
    if (!entry || isIP(entry.address) === 0) continue;
    own.addAddress(entry.address, isIP(entry.address) === 4 ? 'ipv4' : 'ipv6');
  }
  return own.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

const loopbacks = new BlockList();
loopbacks.addSubnet('127.0.0.0', 8, 'ipv4');
loopbacks.addAddress('::1', 'ipv6');

/** 127.0.0.0/8 or ::1, in any IPv4-mapped form. */
export function isLoopbackAddress(address: string): boolean {
  const family = isIP(address);
  return family !== 0 && loopbacks.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Resolves a name to every address it has (dns.lookup by default; tests inject their own). */
export type Resolver = (hostname: string, options?: LookupOptions) => Promise<LookupAddress[]>;

const systemResolver: Resolver = (hostname, options = {}) =>
  new Promise((resolve, reject) => dnsLookup(hostname, { ...options, all: true }, (err, list) => (err ? reject(err) : resolve(list))));

/** Who may be reached, and how a refusal reads. */
export interface AddressPolicy {
  /** The operator's override: private addresses are allowed too. */
  allowPrivate: boolean;
  /**
   * Loopback is allowed even when private addresses are not — for a host named as loopback only (a
   * loopback IP literal or `localhost`): a DNS name that resolves to loopback is refused like a
   * private one, so rebinding a public name cannot reach the controller's own services.
   */
  allowLoopback: boolean;
  /** The error for a refused address (its stable code is the caller's). */
  refuse(host: string, address: string): Error;
  resolve?: Resolver;
}

/** A host named as loopback: `localhost` or a loopback IP literal (brackets allowed). */
export function isLoopbackName(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return bare === 'localhost' || isLoopbackAddress(bare);
}

/** May a connection under `policy` to `host` go to `address` (one `host` is or resolves to)? */
export function addressAllowed(address: string, policy: AddressPolicy, host: string): boolean {
  if (policy.allowPrivate) return true;
  if (policy.allowLoopback && isLoopbackAddress(address) && isLoopbackName(host)) return true;
  return !isPrivateAddress(address);
}

/** Webhook targets: loopback is private too (BUILDMESH_WEBHOOK_ALLOW_PRIVATE=1 allows them all). */
export function webhookPolicy(allowPrivate: boolean): AddressPolicy {
  return { allowPrivate, allowLoopback: false, refuse: refused };
}

function refused(host: string, address: string): ApiError {
  return new ApiError('WEBHOOK_TARGET_REFUSED', `${host} resolves to ${address}, a loopback, private or link-local address (or another special-purpose one, or one of the controller host's own; BUILDMESH_WEBHOOK_ALLOW_PRIVATE=1 allows it)`);
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
 * The first address `url`'s host is or resolves to that `policy` refuses, or null (an early,
 * add-time check; the connection checks again). Throws when the name does not resolve.
 */
export async function blockedAddressOf(url: URL, policy: AddressPolicy): Promise<string | null> {
  const host = hostOf(url);
  const addresses = isIP(host) ? [host] : (await (policy.resolve ?? systemResolver)(host)).map((a) => a.address);
  return addresses.find((a) => !addressAllowed(a, policy, host)) ?? null;
}

/** The connection-time check: a `lookup` for http.request that refuses a name with any address `policy` refuses. */
export function guardedLookup(policy: AddressPolicy): LookupFunction {
  const resolve = policy.resolve ?? systemResolver;
  return (hostname, options, callback) => {
    resolve(hostname, { family: options.family, hints: options.hints }).then(
      (list) => {
        if (list.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 4);
        const bad = list.find((a) => !addressAllowed(a.address, policy, hostname));
        if (bad) return callback(policy.refuse(hostname, bad.address) as NodeJS.ErrnoException, '', 4);
        if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
        callback(null, list[0]!.address, list[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 4),
    );
  };
}

/** The delivery-time check for an IP-literal host (no lookup happens for those). */
export function literalRefused(url: URL, allowPrivate: boolean): string | null {
  const host = hostOf(url);
  return !allowPrivate && isIP(host) && isPrivateAddress(host) ? `${host} is a loopback, private or link-local address (or another special-purpose one, or one of the controller host's own)` : null;
}

/** The largest body `guardedGet` reads (discovery documents and key sets are a few kB). */
const GUARDED_GET_MAX_BYTES = 1024 * 1024;

/**
 * A GET through the guard, shaped like fetch (jose's `customFetch` takes it): an IP-literal host
 * is checked here, a name inside the connection's lookup; a fresh agent per request, so no pooled
 * socket opened under another policy is reused. A redirect is returned as is, never followed.
 */
export function guardedGet(
  raw: string,
  options: { policy: AddressPolicy; signal?: AbortSignal; headers?: ConstructorParameters<typeof Headers>[0]; maxBytes?: number },
): Promise<Response> {
  const url = new URL(raw);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.reject(new TypeError(`${url.protocol} URLs are not fetched`));
  const host = hostOf(url);
  if (isIP(host) && !addressAllowed(host, options.policy, host)) return Promise.reject(options.policy.refuse(host, host));
  const maxBytes = options.maxBytes ?? GUARDED_GET_MAX_BYTES;
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? https : http).request(url, {
      method: 'GET',
      agent: false,
      lookup: guardedLookup(options.policy),
      headers: Object.fromEntries(new Headers(options.headers)),
    });
    const abort = () => request.destroy(signal!.reason as Error);
    signal?.addEventListener('abort', abort, { once: true });
    const settle = () => signal?.removeEventListener('abort', abort);
    request.on('error', (err) => {
      settle();
      reject(err);
    });
    request.on('response', (response) => {
      response.on('error', reject);
      response.on('close', () => {
        if (!response.complete) reject(new Error(`${url.host} closed the connection mid-answer`));
      });
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) return request.destroy(new Error(`${url.host} answered more than ${maxBytes} bytes`));
        chunks.push(chunk);
      });
      response.on('end', () => {
        settle();
        try {
          const headers = new Headers();
          for (let i = 0; i + 1 < response.rawHeaders.length; i += 2) headers.append(response.rawHeaders[i]!, response.rawHeaders[i + 1]!);
          resolve(new Response(Buffer.concat(chunks), { status: response.statusCode, headers }));
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    request.end();
  });
}
