/**
 * What each route declares about itself in `config`: who may call it and what
 * body it takes. The global hooks (auth, body guard) read these, so a route file
 * states its rules in one line instead of repeating checks.
 */
import type { Role } from '@buildmesh/protocol';
import type { EnrollmentTokenRecord, WorkerRecord } from '../store/store.js';

/**
 * public: anyone. enrollment: a worker enrollment token. worker: a worker
 * credential. read/member/admin/instance-admin: an API token with at least that
 * role (read-only tokens may only use GET, whatever the route says).
 */
export type Access = 'public' | 'enrollment' | 'worker' | 'read' | 'member' | 'admin' | 'instance-admin';

/** json: application/json (limit = the route's bodyLimit). multipart / stream: read by the handler, limit = maxBodyBytes. */
export type BodyKind = 'json' | 'multipart' | 'stream';

export interface UserAuth {
  kind: 'user';
  tokenId: string;
  /** The token's name (builds record who submitted them). */
  tokenName: string;
  orgId: string;
  role: Role;
  instanceAdmin: boolean;
  /** A token an OIDC exchange minted for one project submits builds of that project only. */
  project?: string | null;
}
export interface WorkerAuth {
  kind: 'worker';
  worker: WorkerRecord;
}
export interface EnrollmentAuth {
  kind: 'enrollment';
  enrollmentToken: EnrollmentTokenRecord;
}
export type Auth = UserAuth | WorkerAuth | EnrollmentAuth;

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    /** The media type(s) the body may have; several = the route tells them apart itself. */
    body?: BodyKind | readonly BodyKind[];
    /** For multipart and stream bodies: the largest Content-Length accepted before reading starts. */
    maxBodyBytes?: number;
  }
  interface FastifyRequest {
    auth: Auth | null;
  }
}
