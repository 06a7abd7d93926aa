/**
 * The audit log: who did what to which resource, when and from where. Append-only: no route
 * changes or deletes an entry (and the database refuses UPDATE and DELETE on the table).
 */
import { Type, type Static } from 'typebox';
import { Timestamp } from './common.js';

export const AUDIT_ACTIONS = [
  'org.create',
  'token.create',
  'token.revoke',
  'instance_admin.rotate',
  'encryption_key.rotate',
  'session.create',
  'enrollment_token.create',
  'enrollment_token.revoke',
  'worker.enroll',
  'worker.revoke',
  'credentials.set',
  'credentials.delete',
  'credentials.read',
  'secret.set',
  'secret.delete',
  'app_version.set',
  'secrets.read',
  'build.cancel',
  'build.retry',
  'webhook.create',
  'webhook.delete',
  'trust_rule.create',
  'trust_rule.delete',
  'oidc.exchange',
  'oidc.exchange_refused',
  'oidc.exchange_refusals_dropped',
  'provenance_key.rotate',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AuditEntry = Type.Object({
  id: Type.String(),
  /** The org the action concerns; null for the shared pool (only the instance admin sees those). */
  orgId: Type.Union([Type.String(), Type.Null()]),
  /** token (an API token or its dashboard session), worker (a build reading its secrets) or enrollment-token. */
  actorKind: Type.String(),
  actorId: Type.String(),
  actorName: Type.String(),
  action: Type.String(),
  targetType: Type.String(),
  targetId: Type.String(),
  /** Non-secret particulars (a secret's name, never its value). */
  details: Type.Record(Type.String(), Type.Unknown()),
  /** The client address (request.ip: behind BUILDMESH_TRUSTED_PROXIES, the X-Forwarded-For client). */
  ip: Type.String(),
  createdAt: Timestamp,
});
export type AuditEntry = Static<typeof AuditEntry>;

export const AuditQuery = Type.Object({
  /** Entries at or after this time. */
  since: Type.Optional(Timestamp),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 200 })),
  /** nextCursor of the previous page. */
  cursor: Type.Optional(Type.String({ pattern: '^aud_[0-9a-z]{26}$' })),
});
export type AuditQuery = Static<typeof AuditQuery>;
/** Oldest first; nextCursor continues after the last entry (null: no more now). */
export const AuditList = Type.Object({ entries: Type.Array(AuditEntry), nextCursor: Type.Union([Type.String(), Type.Null()]) });
export type AuditList = Static<typeof AuditList>;
