/** Orgs (tenants), projects, API tokens and worker enrollment tokens. */
import { Type, type Static } from 'typebox';
import { Id, Name, Role, Timestamp } from './common.js';
import { WorkerPool } from './workers.js';

export const Org = Type.Object({ id: Id('org'), name: Type.String(), createdAt: Timestamp });
export type Org = Static<typeof Org>;
/** An org's name: a Name that is not shaped like an org id (`org` in the OIDC exchange takes either, an id-shaped one as an id). */
export const OrgName = Type.String({ pattern: '^(?!org_[0-9a-z]{26}$)[a-z0-9][a-z0-9._-]{0,63}$', description: "lower-case letters, digits, . _ -; not shaped like an org id" });
export const CreateOrgRequest = Type.Object({ name: OrgName }, { additionalProperties: false });
export const OrgList = Type.Object({ orgs: Type.Array(Org) });

export const Project = Type.Object({ id: Id('prj'), name: Type.String(), createdAt: Timestamp });
export type Project = Static<typeof Project>;
export const CreateProjectRequest = Type.Object({ name: Name }, { additionalProperties: false });
export const ProjectList = Type.Object({ projects: Type.Array(Project) });
export const ProjectParams = Type.Object({ project: Name });

export const TokenInfo = Type.Object({
  id: Id('tok'),
  orgId: Type.String(),
  name: Type.String(),
  role: Role,
  /** The instance admin token may create orgs and shared-pool enrollment tokens. */
  instanceAdmin: Type.Boolean(),
  createdAt: Timestamp,
  lastUsedAt: Type.Union([Timestamp, Type.Null()]),
  revokedAt: Type.Union([Timestamp, Type.Null()]),
});
export type TokenInfo = Static<typeof TokenInfo>;
export const CreateTokenRequest = Type.Object(
  {
    name: Name,
    role: Role,
    /** Only the instance admin may create a token for another org. */
    orgId: Type.Optional(Id('org')),
  },
  { additionalProperties: false },
);
export type CreateTokenRequest = Static<typeof CreateTokenRequest>;
/** `secret` is shown once; only its hash is stored. */
export const CreatedToken = Type.Object({ token: TokenInfo, secret: Type.String() });
export type CreatedToken = Static<typeof CreatedToken>;
export const TokenList = Type.Object({ tokens: Type.Array(TokenInfo) });
export const TokenParams = Type.Object({ id: Id('tok') });
/**
 * POST /v1/instance-admin/rotate (instance admin only): a new instance admin token, shown once; every
 * earlier one (the caller's included) is revoked in the same transaction.
 */
export const RotatedInstanceAdminToken = Type.Object({ token: TokenInfo, secret: Type.String(), revoked: Type.Array(Type.String()) });
export type RotatedInstanceAdminToken = Static<typeof RotatedInstanceAdminToken>;
/** POST /v1/instance-admin/rotate-key: the new key's version and the rows re-sealed per table. */
export const RotatedKey = Type.Object({ version: Type.Integer(), resealed: Type.Record(Type.String(), Type.Integer()) });
export type RotatedKey = Static<typeof RotatedKey>;

export const EnrollmentTokenInfo = Type.Object({
  id: Id('enr'),
  orgId: Type.Union([Type.String(), Type.Null()]),
  name: Type.String(),
  pool: WorkerPool,
  createdAt: Timestamp,
  revokedAt: Type.Union([Timestamp, Type.Null()]),
});
export type EnrollmentTokenInfo = Static<typeof EnrollmentTokenInfo>;
export const CreateEnrollmentTokenRequest = Type.Object(
  { name: Name, pool: Type.Optional(WorkerPool) },
  { additionalProperties: false },
);
export const CreatedEnrollmentToken = Type.Object({ enrollmentToken: EnrollmentTokenInfo, secret: Type.String() });
export type CreatedEnrollmentToken = Static<typeof CreatedEnrollmentToken>;
export const EnrollmentTokenList = Type.Object({ enrollmentTokens: Type.Array(EnrollmentTokenInfo) });
export const EnrollmentTokenParams = Type.Object({ id: Id('enr') });
/** DELETE /v1/enrollment-tokens/:id?andWorkers=true also revokes every worker the token enrolled. */
export const RevokeEnrollmentTokenQuery = Type.Object(
  { andWorkers: Type.Optional(Type.Boolean({ default: false })) },
  { additionalProperties: false },
);
export const RevokedEnrollmentToken = Type.Object({
  ...EnrollmentTokenInfo.properties,
  /** The workers revoked with it (empty without andWorkers). */
  revokedWorkers: Type.Array(Type.String()),
});
export type RevokedEnrollmentToken = Static<typeof RevokedEnrollmentToken>;

/** GET /v1/me */
export const WhoAmI = Type.Object({ org: Org, token: TokenInfo });
export type WhoAmI = Static<typeof WhoAmI>;

/** GET /health: liveness and readiness; no paths, no secrets. */
export const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  version: Type.String(),
  /** sqlite (embedded) or postgres (replicas). */
  store: Type.String(),
  blobs: Type.String(),
  /** Which controller replica answered (BUILDMESH_REPLICA_ID, else <host>-<pid>). */
  replica: Type.Optional(Type.String({ maxLength: 256 })),
  uptimeSeconds: Type.Number(),
});
export type Health = Static<typeof Health>;
