/**
 * Dashboard single sign-on (OIDC authorization code + PKCE, openid-client as the relying party)
 * against the operator's issuer. The login step keeps its PKCE verifier, state and nonce in a
 * short-lived cookie sealed with the keyring (no server state, any replica finishes it). A signed-in
 * user's org and role come from BUILDMESH_OIDC_ROLE_MAPPING: `;`-separated rules
 * `<condition> => <org name>:<role>`, the condition written as for trust rules (e.g.
 * `email == "*@acme.com" => acme:member`); the first rule whose condition the ID token's claims
 * match wins, and a user no rule matches is refused.
 */
import type * as OpenIdClient from 'openid-client';

/** Loaded with the first sign-in, not at start-up (docs/fast-start.md). */
const openIdClient = (): Promise<typeof OpenIdClient> => import('openid-client');
import { ApiError, type Role } from '@buildmesh/protocol';
import type { Keyring } from '../crypto/keyring.js';
import { conditionMatches, parseCondition, type Clause } from './trust-condition.js';

export const SSO_COOKIE = 'buildmesh_sso';
/** How long a sign-in may take at the identity provider. */
export const SSO_LOGIN_TTL_MS = 10 * 60 * 1000;
const ROLES: readonly Role[] = ['read-only', 'member', 'admin'];

export interface SsoSettings {
  issuer: string | null;
  clientId: string | null;
  clientSecret: string | null;
  roleMapping: string | null;
}

export interface RoleRule {
  clauses: Clause[];
  org: string;
  role: Role;
}

export function parseRoleMapping(text: string): RoleRule[] {
  return text
    .split(';')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const m = /^(.*)=>\s*([a-z0-9][a-z0-9._-]{0,63})\s*:\s*(read-only|member|admin)\s*$/.exec(part);
      if (!m) throw new Error(`BUILDMESH_OIDC_ROLE_MAPPING: "${part}" is not <condition> => <org>:<${ROLES.join('|')}>`);
      return { clauses: parseCondition(m[1]!.trim()), org: m[2]!, role: m[3] as Role };
    });
}

/** `buildmesh login --sso`: where the CLI listens on loopback, and the state it will check. */
export interface CliReturn {
  port: number;
  state: string;
}

export interface PendingLogin {
  verifier: string;
  state: string;
  nonce: string;
  redirectUri: string;
  expiresAt: number;
  cli?: CliReturn;
}

export class Sso {
  private configuration: Promise<OpenIdClient.Configuration> | undefined;
  readonly rules: RoleRule[];

  constructor(
    private readonly settings: SsoSettings,
    private readonly keyring: Keyring,
  ) {
    this.rules = settings.roleMapping ? parseRoleMapping(settings.roleMapping) : [];
  }

  get enabled(): boolean {
    return Boolean(this.settings.issuer && this.settings.clientId);
  }

  /** The identity provider's URL to send the browser to, and the sealed cookie that finishes the login. */
  async start(redirectUri: string, cli?: CliReturn): Promise<{ url: string; cookie: string }> {
    const config = await this.config();
    const oidc = await openIdClient();
    const verifier = oidc.randomPKCECodeVerifier();
    const pending: PendingLogin = {
      verifier,
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      redirectUri,
      expiresAt: Date.now() + SSO_LOGIN_TTL_MS,
      ...(cli ? { cli } : {}),
    };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid email profile',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    });
    return { url: url.href, cookie: this.keyring.sealJson(pending).toString('base64url') };
  }

  /** Redeems the code (PKCE, state, nonce checked) and answers the user's claims (ID token and userinfo). */
  async finish(callbackUrl: URL, cookie: string | undefined): Promise<{ claims: Record<string, unknown>; cli?: CliReturn }> {
    let pending: PendingLogin;
    try {
      pending = this.keyring.openJson<PendingLogin>(Buffer.from(cookie ?? '', 'base64url'));
    } catch {
      throw new ApiError('UNAUTHENTICATED', 'the sign-in was not started here, or its cookie is gone: start again');
    }
    if (pending.expiresAt < Date.now()) throw new ApiError('UNAUTHENTICATED', 'the sign-in took too long: start again');
    const config = await this.config();
    const oidc = await openIdClient();
    try {
      const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      const idClaims = tokens.claims()!;
      // Many providers put email and profile claims in userinfo only: both count, the ID token's win.
      const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, idClaims.sub);
      return { claims: { ...userinfo, ...idClaims }, cli: pending.cli };
    } catch (err) {
      throw new ApiError('UNAUTHENTICATED', `the identity provider's answer was refused: ${(err as Error).message}`);
    }
  }

  /** The first mapping rule the claims match, or undefined (the user is refused). */
  map(claims: Record<string, unknown>): RoleRule | undefined {
    return this.rules.find((r) => conditionMatches(r.clauses, claims));
  }

  private config(): Promise<OpenIdClient.Configuration> {
    if (!this.enabled) throw new ApiError('NOT_FOUND', 'single sign-on is not configured (BUILDMESH_OIDC_ISSUER)');
    const issuer = new URL(this.settings.issuer!);
    this.configuration ??= openIdClient()
      .then((oidc) =>
        oidc.discovery(issuer, this.settings.clientId!, undefined, this.settings.clientSecret ? oidc.ClientSecretBasic(this.settings.clientSecret) : oidc.None(), {
          // A plain-http issuer is accepted on loopback only (a local test provider).
          execute: issuer.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname) ? [oidc.allowInsecureRequests] : [],
        }),
      )
      .catch((err: unknown) => {
        this.configuration = undefined;
        throw new ApiError('INTERNAL', `cannot reach the identity provider ${issuer.href}: ${(err as Error).message}`);
      });
    return this.configuration;
  }
}
