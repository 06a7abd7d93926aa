/**
 * Who is calling: the onRequest hook that turns `Authorization: Bearer …` into
 * `request.auth` according to the route's declared access, before any body is
 * read. A missing, malformed, unknown, revoked or wrong-kind credential gets the
 * same 401, in about the same time (the hash comparison runs either way).
 */
import type { FastifyRequest } from 'fastify';
import { ApiError } from '@buildmesh/protocol';
import type { Store } from '../store/store.js';
import type { Access, Auth, UserAuth } from '../http/route-config.js';
import { apiTokenCredential, bearerOf, hashSecret, parseCredential, secretMatches, tokenLive } from './tokens.js';
import { requireRole, requireTokenScope } from './roles.js';
import { sessionAuth } from './sessions.js';

const NO_HASH = hashSecret('');

/** Writes `last used` / `last seen` at most once per interval per id, off the request's path. */
class Throttle {
  private readonly last = new Map<string, number>();
  constructor(private readonly everyMs: number) {}
  due(id: string, now = Date.now()): boolean {
    const previous = this.last.get(id);
    if (previous !== undefined && now - previous < this.everyMs) return false;
    this.last.set(id, now);
    return true;
  }
}

export class Authenticator {
  private readonly tokenTouches = new Throttle(60_000);
  private readonly workerTouches: Throttle;

  constructor(
    private readonly store: Store,
    options: { workerSeenEveryMs: number },
  ) {
    this.workerTouches = new Throttle(options.workerSeenEveryMs);
  }

  async authenticate(request: FastifyRequest): Promise<void> {
    const access: Access = request.routeOptions.config.access ?? 'public';
    if (access === 'public') return;
    const raw = bearerOf(request.headers.authorization);
    let auth = raw === undefined ? undefined : await this.resolve(access, raw);
    // The dashboard's session cookie stands in for an API token (never for a worker's credentials).
    if (raw === undefined && access !== 'worker' && access !== 'enrollment') auth = await sessionAuth(this.store, request);
    if (!auth) throw new ApiError('UNAUTHENTICATED');
    if (auth.kind === 'user') {
      requireRole(auth, access, request.method);
      requireTokenScope(auth, request);
    }
    request.auth = auth;
  }

  private async resolve(access: Access, raw: string): Promise<Auth | undefined> {
    if (access === 'worker') return this.worker(raw);
    if (access === 'enrollment') return this.enrollment(raw);
    return this.user(raw);
  }

  private async user(raw: string): Promise<UserAuth | undefined> {
    const credential = apiTokenCredential(raw);
    if (!credential) return undefined;
    const token = await this.store.findToken(credential.id);
    const ok = secretMatches(token?.secretHash ?? NO_HASH, credential.secret) && token !== undefined && tokenLive(token);
    if (!ok) return undefined;
    if (this.tokenTouches.due(token.id)) void this.store.touchToken(token.id).catch(() => undefined);
    return {
      kind: 'user',
      tokenId: token.id,
      tokenName: token.name,
      orgId: token.orgId,
      role: token.role,
      instanceAdmin: token.instanceAdmin,
      project: token.project,
    };
  }

  private async worker(raw: string): Promise<Auth | undefined> {
    const credential = parseCredential(raw);
    if (!credential || credential.kind !== 'w') return undefined;
    const worker = await this.store.findWorker(credential.id);
    const ok = secretMatches(worker?.secretHash ?? NO_HASH, credential.secret) && worker !== undefined && worker.revokedAt === null;
    if (!ok) return undefined;
    if (this.workerTouches.due(worker.id)) void this.store.touchWorker(worker.id).catch(() => undefined);
    return { kind: 'worker', worker };
  }

  private async enrollment(raw: string): Promise<Auth | undefined> {
    const credential = parseCredential(raw);
    if (!credential || credential.kind !== 'e') return undefined;
    const token = await this.store.findEnrollmentToken(credential.id);
    const ok = secretMatches(token?.secretHash ?? NO_HASH, credential.secret) && token !== undefined && token.revokedAt === null;
    if (!ok) return undefined;
    return { kind: 'enrollment', enrollmentToken: token };
  }
}
