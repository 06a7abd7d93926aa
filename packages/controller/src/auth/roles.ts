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
import type { Store } from '../store/store.js';

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

/**
 * What a project-scoped token may change besides reading: submitting a build (its project is
 * checked by the route), uploading its source blob, and canceling or retrying a build of its
 * project (checked by those routes). Secrets, credentials, app versions, projects — of any
 * project, its own included — are for the org's own tokens: a CI identity trusted for project A
 * must not rewrite what project B's next build runs with.
 */
const PROJECT_TOKEN_WRITES = new Set([
  'POST /v1/builds',
  'POST /v1/builds/:id/cancel',
  'POST /v1/builds/:id/retry',
  'POST /v1/blobs/presence',
  'POST /v1/blobs/uploads',
  'POST /v1/blobs/uploads/complete',
  'PUT /v1/blobs/:sha256',
]);

/** Called for every user request: a project-scoped token stays inside its project and changes only what it builds. */
export function requireTokenScope(auth: UserAuth, request: FastifyRequest): void {
  if (!auth.project) return;
  const named = (request.params as { project?: unknown } | undefined)?.project;
  if (typeof named === 'string' && named !== auth.project) throw new ApiError('FORBIDDEN', `this token is scoped to project ${auth.project}`);
  if (request.method === 'GET' || request.method === 'HEAD') return;
  if (!PROJECT_TOKEN_WRITES.has(`${request.method} ${request.routeOptions.url}`)) {
    throw new ApiError('FORBIDDEN', `a token scoped to project ${auth.project} may only submit, cancel and retry that project's builds`);
  }
}

/** Cancel and retry with a project-scoped token: the build must be of that project. */
export async function requireBuildInScope(store: Store, auth: UserAuth, buildId: string): Promise<void> {
  if (!auth.project) return;
  const build = await store.getBuild(auth.orgId, buildId);
  if (!build) throw new ApiError('NOT_FOUND', 'no such build');
  if (build.project !== auth.project) throw new ApiError('FORBIDDEN', `this token is scoped to project ${auth.project}`);
}
