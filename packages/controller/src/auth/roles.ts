/**
 * What each role may do. read-only: look (GET) only. member: also build,
 * cancel, retry, manage projects, credentials and secrets. admin: also tokens,
 * enrollment tokens and workers. The instance admin (an admin token flagged at
 * bootstrap) also creates orgs, other orgs' tokens and shared-pool enrollment
 * tokens; those checks live in the routes that need them.
 */
import { ApiError, type Role } from '@buildmesh/protocol';
import type { Access, Auth, UserAuth, WorkerAuth } from '../http/route-config.js';
import type { FastifyRequest } from 'fastify';

const RANK: Record<Role, number> = { 'read-only': 0, member: 1, admin: 2 };
const NEEDED: Partial<Record<Access, number>> = { read: 0, member: 1, admin: 2, 'instance-admin': 2 };

export function requireRole(auth: UserAuth, access: Access, method: string): void {
  if (auth.role === 'read-only' && method !== 'GET' && method !== 'HEAD') {
    throw new ApiError('FORBIDDEN', 'a read-only token may only read');
  }
  const needed = NEEDED[access];
  if (needed !== undefined && RANK[auth.role] < needed) throw new ApiError('FORBIDDEN', `this needs ${access === 'admin' ? 'an' : 'a'} ${access} token`);
  if (access === 'instance-admin' && !auth.instanceAdmin) throw new ApiError('FORBIDDEN', 'this needs the instance admin token');
}

function expect<K extends Auth['kind']>(request: FastifyRequest, kind: K): Extract<Auth, { kind: K }> {
  const auth = request.auth;
  // A route whose config.access does not match how it reads auth is a programming error.
  if (!auth || auth.kind !== kind) throw new Error(`route ${request.routeOptions.url} expected ${kind} auth`);
  return auth as Extract<Auth, { kind: K }>;
}

export const userOf = (request: FastifyRequest): UserAuth => expect(request, 'user');
export const workerOf = (request: FastifyRequest): WorkerAuth['worker'] => expect(request, 'worker').worker;
export const enrollmentOf = (request: FastifyRequest) => expect(request, 'enrollment').enrollmentToken;

/** A token minted for one project (an OIDC exchange's) may submit builds of that project only. */
export function requireProjectScope(auth: UserAuth, project: string): void {
  if (auth.project && auth.project !== project) throw new ApiError('FORBIDDEN', `this token may only build project ${auth.project}`);
}
