/**
 * Writing the audit log from a route: the actor comes from the request's authentication (an
 * API token or its dashboard session, a worker, an enrollment token), the address from
 * request.ip (the X-Forwarded-For client only behind BUILDMESH_TRUSTED_PROXIES). A route records
 * after its change committed and before it answers, so every acknowledged action has its entry.
 */
import type { AuditAction, AuditEntry } from '@buildmesh/protocol';
import type { FastifyRequest } from 'fastify';
import type { ControllerContext } from '../context.js';
import { newId } from '../ids.js';
import { nowIso } from '../store/rows.js';

export interface AuditFact {
  action: AuditAction;
  /** The org the action concerns (null: the shared pool, seen only by the instance admin). */
  orgId: string | null;
  target: { type: string; id: string };
  details?: Record<string, unknown>;
  /** For routes that authenticate themselves (sign-in): who acted. */
  actor?: { kind: string; id: string; name: string };
}

function actorOf(request: FastifyRequest): { kind: string; id: string; name: string } {
  const auth = request.auth;
  if (auth?.kind === 'user') return { kind: 'token', id: auth.tokenId, name: auth.tokenName };
  if (auth?.kind === 'worker') return { kind: 'worker', id: auth.worker.id, name: auth.worker.name };
  if (auth?.kind === 'enrollment') return { kind: 'enrollment-token', id: auth.enrollmentToken.id, name: auth.enrollmentToken.name };
  return { kind: 'anonymous', id: '', name: '' };
}

function entryOf(request: FastifyRequest, fact: AuditFact): AuditEntry {
  const actor = fact.actor ?? actorOf(request);
  return {
    id: newId('aud'),
    orgId: fact.orgId,
    actorKind: actor.kind,
    actorId: actor.id,
    actorName: actor.name,
    action: fact.action,
    targetType: fact.target.type,
    targetId: fact.target.id,
    details: fact.details ?? {},
    ip: request.ip,
    createdAt: nowIso(),
  };
}

export async function audit(ctx: ControllerContext, request: FastifyRequest, fact: AuditFact): Promise<void> {
  await ctx.store.appendAudit(entryOf(request, fact));
}

/**
 * As audit(), unless the actor has had `perActorPerMinute` entries of this action in the last minute, or the
 * org `perOrgPerMinute`; answers whether it wrote.
 */
export async function auditAtMost(
  ctx: ControllerContext,
  request: FastifyRequest,
  fact: AuditFact & { orgId: string },
  caps: { perActorPerMinute: number; perOrgPerMinute: number },
): Promise<boolean> {
  return ctx.store.appendAuditCapped({ ...entryOf(request, fact), orgId: fact.orgId }, { since: Date.now() - 60_000, perActor: caps.perActorPerMinute, perOrg: caps.perOrgPerMinute });
}
