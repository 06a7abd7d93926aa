/**
 * Dashboard sessions: an API token pasted once into the sign-in form is exchanged
 * for a server-side session behind an HttpOnly cookie. Every state-changing
 * request made with the cookie carries the session's CSRF token in a header.
 */
import { Type, type Static } from 'typebox';
import { Org, TokenInfo } from './tenancy.js';
import { Timestamp } from './common.js';

/** The session cookie (HttpOnly, SameSite=Strict, Secure when the controller is reached over HTTPS). */
export const SESSION_COOKIE = 'buildmesh_session';
/** The header that carries the session's CSRF token on POST, PUT, PATCH and DELETE. */
export const CSRF_HEADER = 'x-buildmesh-csrf';

export const CreateSessionRequest = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 512 }) },
  { additionalProperties: false },
);
export type CreateSessionRequest = Static<typeof CreateSessionRequest>;

export const Session = Type.Object({
  org: Org,
  token: TokenInfo,
  /** Send back in the CSRF header with every state-changing request. */
  csrfToken: Type.String(),
  expiresAt: Timestamp,
});
export type Session = Static<typeof Session>;
