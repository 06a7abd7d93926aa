/**
 * CI token exchange: a platform's OIDC ID token (GitHub Actions, GitLab, Buildkite…) is verified
 * against its issuer's JWKS (found by OIDC discovery; keys cached by jose's remote key set), its
 * issuer, audience and expiry, then matched against the org admins' trust rules for that issuer;
 * the first matching rule (oldest first) mints a short-lived API token stored hashed with its expiry.
 */
import type * as Jose from 'jose';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import { ApiError, type TrustRule } from '@buildmesh/protocol';
import type { Store } from '../store/store.js';
import { newId } from '../ids.js';
import { mintCredential } from './tokens.js';
import { conditionMatches, parseCondition } from './trust-condition.js';
import { blockedAddressOf, guardedGet, isLoopbackAddress, isLoopbackName, type AddressPolicy, type Resolver } from '../webhooks/target-guard.js';

/** Loaded with the first exchange, not at start-up (docs/fast-start.md). */
const joseModule = (): Promise<typeof Jose> => import('jose');

const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
/** Discovery documents are re-read after this; the key set refreshes itself on an unknown kid. */
const DISCOVERY_TTL_MS = 60 * 60 * 1000;
const FETCH_TIMEOUT_MS = 5000;
/** Clock skew tolerated on exp/nbf/iat. */
const CLOCK_TOLERANCE_S = 30;

export interface Exchanged {
  rule: TrustRule;
  token: string;
  tokenId: string;
  expiresAt: string;
  claims: JWTPayload;
}

/** Why an ID token was refused: `verified` says whether its signature held (only those are audited). */
export class ExchangeRefused extends ApiError {
  constructor(
    message: string,
    readonly verified?: { issuer: string; subject: string; claims: JWTPayload },
  ) {
    super('OIDC_TOKEN_REFUSED', message);
  }
}

/** An issuer URL's shape: https, or http on a loopback host (a local test issuer, if the operator allows loopback). */
export function issuerUrlAllowed(issuer: string, allowQuery = false): boolean {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    return false;
  }
  if (url.username || url.password || url.hash || (url.search && !allowQuery)) return false;
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}

/** Test seams: the resolver behind every connection's address check, and jose's refetch cooldown (default 30 s). */
export interface ExchangerTesting {
  resolve?: Resolver;
  keyCooldownMs?: number;
}

/**
 * Which addresses the operator lets tenants' issuers be on (both off by default):
 * `private` (BUILDMESH_OIDC_ALLOW_PRIVATE_ISSUERS=1) allows every address, loopback and the
 * controller host's own addresses included; `loopback` (BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS=1)
 * allows only issuers named 127.0.0.1, [::1] or localhost (a local test issuer) and their key sets.
 */
export interface IssuerAllowance {
  private?: boolean;
  loopback?: boolean;
}

export class OidcExchanger {
  private readonly keySets = new Map<string, { at: number; keys: Promise<JWTVerifyGetKey> }>();

  constructor(
    private readonly store: Store,
    private readonly allowed: IssuerAllowance = {},
    private readonly testing: ExchangerTesting = {},
  ) {}

  async exchange(idToken: string): Promise<Exchanged> {
    const jose = await joseModule();
    let unverified: JWTPayload;
    try {
      unverified = jose.decodeJwt(idToken);
    } catch {
      throw new ExchangeRefused('not a JWT');
    }
    const issuer = unverified.iss;
    if (typeof issuer !== 'string') throw new ExchangeRefused('the token has no issuer');
    const rules = await this.store.trustRulesForIssuer(issuer);
    if (rules.length === 0 || !issuerUrlAllowed(issuer)) throw new ExchangeRefused(`unknown issuer ${issuer.slice(0, 200)}: no trust rule names it`);
    const audiences = [...new Set(rules.map((r) => r.audience))];
    let payload: JWTPayload;
    try {
      ({ payload } = await jose.jwtVerify(idToken, await this.keysOf(issuer), {
        issuer,
        audience: audiences,
        algorithms: ALGORITHMS,
        requiredClaims: ['exp', 'sub'],
        clockTolerance: CLOCK_TOLERANCE_S,
      }));
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw new ExchangeRefused(refusalOf(err, jose.errors));
    }
    const tokenAudiences = typeof payload.aud === 'string' ? [payload.aud] : (payload.aud ?? []);
    const subject = payload.sub!;
    const rule = rules.find((r) => tokenAudiences.includes(r.audience) && conditionMatches(parseCondition(r.condition), payload));
    if (!rule) throw new ExchangeRefused('no trust rule matches the token\'s claims', { issuer, subject, claims: payload });
    const tokenId = newId('tok');
    const { token, secretHash } = mintCredential('t', tokenId);
    const expiresAt = new Date(Date.now() + rule.ttlSeconds * 1000).toISOString();
    await this.store.insertToken({
      id: tokenId,
      orgId: rule.orgId,
      name: `oidc:${rule.name}:${subject}`.slice(0, 200),
      role: rule.role,
      instanceAdmin: false,
      secretHash,
      expiresAt,
      project: rule.project,
    });
    return { rule, token, tokenId, expiresAt, claims: payload };
  }

  /**
   * The issuer's remote key set (discovery once an hour; jose caches the keys and refetches on a new
   * kid or after 10 minutes). Every fetch, jose's refetches included, goes through the connect-time guard.
   */
  private keysOf(issuer: string): Promise<JWTVerifyGetKey> {
    const cached = this.keySets.get(issuer);
    if (cached && Date.now() - cached.at < DISCOVERY_TTL_MS) return cached.keys;
    const { resolve, keyCooldownMs } = this.testing;
    const keys = Promise.all([discoverJwksUri(issuer, oidcPolicy(this.allowed, true, resolve)), joseModule()]).then(([uri, jose]) => {
      const policy = oidcPolicy(this.allowed, keySetMayBeLoopback(issuer), resolve);
      return jose.createRemoteJWKSet(new URL(uri), {
        timeoutDuration: FETCH_TIMEOUT_MS,
        ...(keyCooldownMs === undefined ? {} : { cooldownDuration: keyCooldownMs }),
        [jose.customFetch]: (url, init) => guardedGet(url, { policy, signal: init.signal, headers: init.headers }),
      });
    });
    this.keySets.set(issuer, { at: Date.now(), keys });
    keys.catch(() => this.keySets.delete(issuer));
    return keys;
  }
}

/**
 * What the controller may connect to for an issuer: no private, link-local or CGNAT address unless
 * the operator allows them (`allowed.private`); loopback only when the operator allows loopback
 * issuers (`allowed.loopback`) and `loopbackHere` (the issuer's own host, or a key set of an issuer
 * named as loopback), for a host named as loopback (127.0.0.1, [::1], localhost), never for a name
 * that resolves there. The refusal says nothing about what listens at the address: it comes before
 * any connection.
 */
export function oidcPolicy(allowed: IssuerAllowance, loopbackHere: boolean, resolve?: Resolver): AddressPolicy {
  return {
    allowPrivate: allowed.private === true,
    allowLoopback: allowed.loopback === true && loopbackHere,
    resolve,
    refuse: (host, address) => {
      const who = host === address ? host : `${host} resolves to ${address}, which`;
      return new ExchangeRefused(
        !isLoopbackAddress(address)
          ? `${who} is a private address the controller does not connect to (BUILDMESH_OIDC_ALLOW_PRIVATE_ISSUERS=1 allows private issuers)`
          : allowed.loopback !== true && loopbackHere && isLoopbackName(host)
            ? `${who} is a loopback address (the controller's own host), refused unless the operator sets BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS=1 (a local test issuer)`
            : `${who} is a loopback address, allowed only for a loopback issuer named 127.0.0.1, [::1] or localhost`,
      );
    },
  };
}

/**
 * A key set may be on loopback only when its issuer is (a local test issuer): a public issuer
 * cannot send the controller to a loopback service.
 */
export function keySetMayBeLoopback(issuer: string): boolean {
  return isLoopbackName(new URL(issuer).hostname);
}

/**
 * The add-time check of an issuer URL (quick feedback when a rule is added): refused when its host
 * is or resolves to a private or loopback address, unless the operator allows it (a loopback issuer
 * only when named as such). Every later connection checks again, at connect time.
 */
export async function issuerAddressRefused(url: string, allowed: IssuerAllowance, resolve?: Resolver): Promise<string | null> {
  if (allowed.private === true) return null;
  try {
    const policy = oidcPolicy(allowed, true, resolve);
    const blocked = await blockedAddressOf(new URL(url), policy);
    return blocked ? policy.refuse(new URL(url).hostname.replace(/^\[(.*)\]$/, '$1'), blocked).message : null;
  } catch {
    return `${new URL(url).hostname} does not resolve`;
  }
}

async function discoverJwksUri(issuer: string, policy: AddressPolicy): Promise<string> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  let doc: { issuer?: unknown; jwks_uri?: unknown };
  try {
    const response = await guardedGet(url, { policy, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), headers: { accept: 'application/json' } });
    if (response.status >= 300 && response.status < 400) throw new Error(`HTTP ${response.status} (redirects are not followed)`);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    doc = (await response.json()) as typeof doc;
  } catch (err) {
    if (err instanceof ApiError) throw err;
    // Never a byte of the answer in the message (a JSON parse error quotes it): the caller may not own the issuer.
    throw new ExchangeRefused(`cannot read the issuer's discovery document ${url}: ${err instanceof SyntaxError ? 'the answer is not JSON' : (err as Error).message}`);
  }
  if (doc.issuer !== issuer || typeof doc.jwks_uri !== 'string' || !issuerUrlAllowed(doc.jwks_uri, true)) {
    throw new ExchangeRefused(`the discovery document at ${url} does not name this issuer and an https jwks_uri`);
  }
  return doc.jwks_uri;
}

function refusalOf(err: unknown, joseErrors: typeof Jose.errors): string {
  if (err instanceof joseErrors.JWTExpired) return 'the ID token has expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return 'the ID token\'s audience is not one a trust rule for this issuer expects';
    return `the ID token's ${err.claim} claim is not valid (${err.reason})`;
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed || err instanceof joseErrors.JWKSNoMatchingKey) return 'the ID token\'s signature does not verify with the issuer\'s keys';
  if (err instanceof joseErrors.JOSEError) return `the ID token is not valid (${err.code})`;
  return 'the ID token could not be verified';
}
