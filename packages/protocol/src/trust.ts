/**
 * CI identity (OIDC token exchange): trust rules name an issuer, an audience and a condition on the
 * ID token's claims; POST /v1/oidc/exchange trades a matching ID token for a short-lived API token.
 */
import { Type, type Static } from 'typebox';
import { Id, Name, Role, Timestamp } from './common.js';
import { NulFreeText } from './env-names.js';

/** Longest ttl a rule may give its tokens (the exchange is meant for one CI job). */
export const MAX_EXCHANGED_TOKEN_TTL_SECONDS = 3600;

export const TrustRule = Type.Object({
  id: Id('trr'),
  orgId: Type.String(),
  name: Type.String(),
  /** The issuer URL exactly as the ID token's `iss` claim has it (its JWKS is found by OIDC discovery). */
  issuer: Type.String(),
  /** The `aud` the ID token must carry. */
  audience: Type.String(),
  /** `claim == "value"` clauses (a `*` in the value matches any run of characters; `!=` negates) joined by `&&`. */
  condition: Type.String(),
  role: Role,
  /** When set, the exchanged token may only submit builds of this project. */
  project: Type.Union([Type.String(), Type.Null()]),
  /** Lifetime of the exchanged token. */
  ttlSeconds: Type.Integer(),
  createdAt: Timestamp,
});
export type TrustRule = Static<typeof TrustRule>;

export const CreateTrustRuleRequest = Type.Object(
  {
    name: Name,
    issuer: NulFreeText(512, 8),
    audience: NulFreeText(256, 1),
    condition: NulFreeText(2000, 1),
    role: Type.Union([Type.Literal('member'), Type.Literal('read-only')]),
    project: Type.Optional(Name),
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 5, maximum: MAX_EXCHANGED_TOKEN_TTL_SECONDS })),
    /** Only the instance admin may add a rule to another org. */
    orgId: Type.Optional(Id('org')),
  },
  { additionalProperties: false },
);
export type CreateTrustRuleRequest = Static<typeof CreateTrustRuleRequest>;
export const TrustRuleList = Type.Object({ rules: Type.Array(TrustRule) });
export const TrustRuleParams = Type.Object({ id: Id('trr') });

/**
 * `org` names the org the token is wanted for, by its id (`org_…`) or its name: only that org's trust
 * rules are considered, so another org's rule never decides whose token a CI identity gets. An id-shaped
 * value is always read as an id. An unknown org is refused exactly like a token no rule accepts.
 */
export const OidcExchangeRequest = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 16384 }), org: Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,63}$', description: "the org's id (org_…) or name" }) },
  { additionalProperties: false },
);
export type OidcExchangeRequest = Static<typeof OidcExchangeRequest>;
/** `token` is an API token (bmt_…) that stops working at `expiresAt`. */
export const OidcExchangeResponse = Type.Object({
  token: Type.String(),
  tokenId: Id('tok'),
  orgId: Type.String(),
  role: Role,
  project: Type.Union([Type.String(), Type.Null()]),
  expiresAt: Timestamp,
  ruleId: Id('trr'),
});
export type OidcExchangeResponse = Static<typeof OidcExchangeResponse>;
