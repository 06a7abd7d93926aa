/**
 * CI token exchange: a platform's OIDC ID token (GitHub Actions, GitLab, Buildkite…) is verified
 * against its issuer's JWKS (found by OIDC discovery; keys cached by jose's remote key set), its
 * issuer, audience and expiry, then matched against the org admins' trust rules for that issuer;
 * the first matching rule (oldest first) mints a short-lived API token stored hashed with its expiry.
 */
import { createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ApiError, type TrustRule } from '@buildmesh/protocol';
import type { Store } from '../store/store.js';
import { newId } from '../ids.js';
import { mintCredential } from './tokens.js';
import { conditionMatches, parseCondition } from './trust-condition.js';
import { blockedAddressOf } from '../webhooks/target-guard.js';

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

/** An issuer we fetch from: https, or http on a loopback host (a local test issuer). */
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

export class OidcExchanger {
  private readonly keySets = new Map<string, { at: number; keys: Promise<JWTVerifyGetKey> }>();

  constructor(
    private readonly store: Store,
    private readonly allowPrivateIssuers = false,
  ) {}

  async exchange(idToken: string): Promise<Exchanged> {
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(idToken);
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
      ({ payload } = await jwtVerify(idToken, await this.keysOf(issuer), {
        issuer,
        audience: audiences,
        algorithms: ALGORITHMS,
        requiredClaims: ['exp', 'sub'],
        clockTolerance: CLOCK_TOLERANCE_S,
      }));
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw new ExchangeRefused(refusalOf(err));
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

  /** The issuer's remote key set (discovery once an hour; jose caches the keys and refetches on a new kid). */
  private keysOf(issuer: string): Promise<JWTVerifyGetKey> {
    const cached = this.keySets.get(issuer);
    if (cached && Date.now() - cached.at < DISCOVERY_TTL_MS) return cached.keys;
    const keys = discoverJwksUri(issuer, this.allowPrivateIssuers).then((uri) => createRemoteJWKSet(new URL(uri), { timeoutDuration: FETCH_TIMEOUT_MS }));
    this.keySets.set(issuer, { at: Date.now(), keys });
    keys.catch(() => this.keySets.delete(issuer));
    return keys;
  }
}

/**
 * Refuses an issuer or key-set URL whose host is on a private network (the controller's SSRF guard,
 * shared with webhooks), unless the operator allows it; loopback stays allowed. The check is on
 * the resolved addresses before the fetch (a name re-resolving between check and connect is not caught).
 */
export async function issuerAddressRefused(url: string, allowPrivate: boolean): Promise<string | null> {
  if (allowPrivate) return null;
  try {
    const blocked = await blockedAddressOf(new URL(url), true);
    return blocked ? `${new URL(url).hostname} resolves to ${blocked}, a private address (BUILDMESH_OIDC_ALLOW_PRIVATE_ISSUERS=1 allows it)` : null;
  } catch {
    return `${new URL(url).hostname} does not resolve`;
  }
}

async function discoverJwksUri(issuer: string, allowPrivate: boolean): Promise<string> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const refusedIssuer = await issuerAddressRefused(url, allowPrivate);
  if (refusedIssuer) throw new ExchangeRefused(`the issuer is not reachable from here: ${refusedIssuer}`);
  let doc: { issuer?: unknown; jwks_uri?: unknown };
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    doc = (await response.json()) as typeof doc;
  } catch (err) {
    throw new ExchangeRefused(`cannot read the issuer's discovery document ${url}: ${(err as Error).message}`);
  }
  if (doc.issuer !== issuer || typeof doc.jwks_uri !== 'string' || !issuerUrlAllowed(doc.jwks_uri, true)) {
    throw new ExchangeRefused(`the discovery document at ${url} does not name this issuer and an https jwks_uri`);
  }
  const refusedKeys = await issuerAddressRefused(doc.jwks_uri, allowPrivate);
  if (refusedKeys) throw new ExchangeRefused(`the issuer's key set is not reachable from here: ${refusedKeys}`);
  return doc.jwks_uri;
}

function refusalOf(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'the ID token has expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return 'the ID token\'s audience is not one a trust rule for this issuer expects';
    return `the ID token's ${err.claim} claim is not valid (${err.reason})`;
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed || err instanceof joseErrors.JWKSNoMatchingKey) return 'the ID token\'s signature does not verify with the issuer\'s keys';
  if (err instanceof joseErrors.JOSEError) return `the ID token is not valid (${err.code})`;
  return 'the ID token could not be verified';
}
