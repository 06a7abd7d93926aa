/**
 * CI token exchange: a platform's OIDC ID token (GitHub Actions, GitLab, Buildkite…) and the org it is
 * wanted for. The token is verified against its issuer's JWKS (found by OIDC discovery; keys cached by
 * jose's remote key set), its issuer, audience and expiry, then matched against *that org's* trust rules
 * for the issuer (never another org's: every org trusts the same public issuers and audience); the first
 * matching rule (oldest first) mints a short-lived API token stored hashed with its expiry. Every refusal
 * reads the same to the caller; why is kept for the org's audit log or the controller's log.
 */
import type * as Jose from 'jose';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import { ApiError, type TrustRule } from '@buildmesh/protocol';
import type { Store } from '../store/store.js';
import { newId } from '../ids.js';
import { mintCredential } from './tokens.js';
import { conditionMatches, parseCondition } from './trust-condition.js';
import { blockedAddressOf, guardedGet, isLoopbackAddress, isLoopbackName, type AddressPolicy, type Resolver } from '../webhooks/target-guard.js';

const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/g;

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

/** What is known of a refused exchange besides why: the org whose rules were tried, and the claims once the signature held. */
export interface RefusalContext {
  orgId?: string;
  verified?: { issuer: string; subject: string; claims: JWTPayload };
}

/**
 * A refused ID token. The caller (anonymous: it holds only the ID token) always gets the catalogue's one
 * OIDC_TOKEN_REFUSED message, whatever the cause: an unknown org, an issuer no rule of it names, a bad
 * signature and an unreachable issuer read alike, so refusals tell nobody which orgs exist, which issuers
 * an org trusts, or anything of the network the controller sees. `reason` says why, for the org's audit
 * log (a token whose signature held) or the controller's log, never for the caller.
 */
export class ExchangeRefused extends ApiError {
  constructor(
    readonly reason: string,
    readonly context: RefusalContext = {},
  ) {
    super('OIDC_TOKEN_REFUSED');
  }

  get verified(): RefusalContext['verified'] {
    return this.context.verified;
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

  /**
   * `org` is the org's id or name (the caller's choice): only its rules for the token's issuer are
   * tried. An unknown org and an org with no rule for the issuer are one refusal, from one query.
   */
  async exchange(idToken: string, org: string): Promise<Exchanged> {
    const jose = await joseModule();
    let unverified: JWTPayload;
    try {
      unverified = jose.decodeJwt(idToken);
    } catch {
      throw new ExchangeRefused('not a JWT');
    }
    const issuer = unverified.iss;
    if (typeof issuer !== 'string') throw new ExchangeRefused('the token has no issuer');
    // Unverified text: an issuer no rule could name (a control character, not an issuer URL) is refused before any query.
    const nameable = !CONTROL_CHARACTER.test(issuer) && issuerUrlAllowed(issuer);
    const rules = nameable ? await this.store.orgTrustRulesForIssuer(org, issuer) : [];
    if (rules.length === 0) throw new ExchangeRefused(`no trust rule of the org (or no such org) names the issuer ${issuer.slice(0, 200)}`);
    const orgId = rules[0]!.orgId;
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
      if (err instanceof ExchangeRefused) throw new ExchangeRefused(err.reason, { ...err.context, orgId });
      if (err instanceof ApiError) throw err;
      // jose checks the claims only once the signature held: those refusals carry trustworthy claims.
      const claims = err instanceof jose.errors.JWTClaimValidationFailed || err instanceof jose.errors.JWTExpired ? err.payload : undefined;
      const verified = claims && typeof claims.sub === 'string' ? { issuer, subject: claims.sub.replace(CONTROL_CHARACTERS, '\ufffd'), claims } : undefined;
      throw new ExchangeRefused(refusalOf(err, jose.errors), { orgId, ...(verified ? { verified } : {}) });
    }
    const tokenAudiences = typeof payload.aud === 'string' ? [payload.aud] : (payload.aud ?? []);
    // Verified, but the issuer's text: made storable (it names the minted token and the audit entry's actor).
    const subject = payload.sub!.replace(CONTROL_CHARACTERS, '\ufffd');
    const rule = rules.find((r) => tokenAudiences.includes(r.audience) && conditionMatches(parseCondition(r.condition), payload));
    if (!rule) throw new ExchangeRefused('no trust rule of the org matches the token\'s claims', { orgId, verified: { issuer, subject, claims: payload } });
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
    refuse: (host, address) => new ExchangeRefused(addressRefusal(allowed, loopbackHere, host, address, true)),
  };
}

/**
 * Why an address is refused. `nameAddress`: say which address a name resolved to (the controller's log
 * only; an org admin adding a rule learns the kind of address, not the answer of the controller's DNS).
 */
function addressRefusal(allowed: IssuerAllowance, loopbackHere: boolean, host: string, address: string, nameAddress: boolean): string {
  const who = host === address ? host : nameAddress ? `${host} resolves to ${address}, which` : `${host} resolves to an address that`;
  return !isLoopbackAddress(address)
    ? `${who} is a private address the controller does not connect to (BUILDMESH_OIDC_ALLOW_PRIVATE_ISSUERS=1 allows private issuers)`
    : allowed.loopback !== true && loopbackHere && isLoopbackName(host)
      ? `${who} is a loopback address (the controller's own host), refused unless the operator sets BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS=1 (a local test issuer)`
      : `${who} is a loopback address, allowed only for a loopback issuer named 127.0.0.1, [::1] or localhost`;
}

/**
 * A key set may be on loopback only when its issuer is (a local test issuer): a public issuer
 * cannot send the controller to a loopback service.
 */
export function keySetMayBeLoopback(issuer: string): boolean {
  return isLoopbackName(new URL(issuer).hostname);
}

/**
 * The add-time check of an issuer URL (quick feedback to the org admin adding a rule): refused when
 * its host is or resolves to a private or loopback address, unless the operator allows it (a loopback
 * issuer only when named as such). The message names the kind of address, never the address a name
 * resolved to nor a network error. Every later connection checks again, at connect time.
 */
export async function issuerAddressRefused(url: string, allowed: IssuerAllowance, resolve?: Resolver): Promise<string | null> {
  if (allowed.private === true) return null;
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  try {
    const blocked = await blockedAddressOf(new URL(url), oidcPolicy(allowed, true, resolve));
    return blocked ? addressRefusal(allowed, true, host, blocked, false) : null;
  } catch {
    return `${host} does not resolve`;
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
    // The network error (which goes to the controller's log only) may say what answers where: never the caller's.
    throw new ExchangeRefused(`cannot read the issuer's discovery document ${url}: ${err instanceof SyntaxError ? 'the answer is not JSON' : networkError(err)}`);
  }
  if (doc.issuer !== issuer || typeof doc.jwks_uri !== 'string' || !issuerUrlAllowed(doc.jwks_uri, true)) {
    throw new ExchangeRefused(`the discovery document at ${url} does not name this issuer and an https jwks_uri`);
  }
  return doc.jwks_uri;
}

/** A fetch error with its cause (undici's "fetch failed" says nothing without it). */
function networkError(err: unknown): string {
  const { message, cause } = err as Error & { cause?: unknown };
  return cause instanceof Error && cause.message !== message ? `${message} (${cause.message})` : message;
}

function refusalOf(err: unknown, joseErrors: typeof Jose.errors): string {
  if (err instanceof joseErrors.JWTExpired) return 'the ID token has expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return 'the ID token\'s audience is not one a trust rule of the org for this issuer expects';
    return `the ID token's ${err.claim} claim is not valid (${err.reason})`;
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed || err instanceof joseErrors.JWKSNoMatchingKey) return 'the ID token\'s signature does not verify with the issuer\'s keys';
  if (err instanceof joseErrors.JOSEError) return `the ID token is not valid (${err.code}: ${err.message})`;
  return `the ID token could not be verified (${networkError(err)})`;
}
