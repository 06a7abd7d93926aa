/**
 * Dashboard sessions. The cookie holds `<session id>.<secret>`; the store keeps
 * sha256(secret) only. A session acts with its API token's org and role (a
 * revoked token ends its sessions), expires after SESSION_TTL_MS, and is revoked
 * at sign-out. Its CSRF token is an HMAC of the secret: the page learns it from
 * the sign-in answer (or GET /v1/sessions/current) and sends it in CSRF_HEADER
 * with every state-changing request; it is compared in constant time.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, CSRF_HEADER, SESSION_COOKIE } from '@buildmesh/protocol';
import type { SessionRecord, Store, TokenRecord } from '../store/store.js';
import type { UserAuth } from '../http/route-config.js';
import { apiTokenCredential, hashSecret, secretMatches, tokenLive } from './tokens.js';
import { newId } from '../ids.js';

/** A session lasts 12 hours from sign-in, then the page asks for the token again. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
const COOKIE_PATTERN = /^(ses_[0-9a-z]{26})\.([A-Za-z0-9_-]{43})$/;
const NO_HASH = hashSecret('');
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const sessions = new WeakMap<FastifyRequest, SessionRecord>();

export const csrfTokenFor = (secret: string): string => createHmac('sha256', secret).update('buildmesh csrf').digest('base64url');

function csrfMatches(expected: string, given: string | string[] | undefined): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The API token a sign-in form was given, if it is a live one (same checks, same timing as Bearer). */
export async function liveApiToken(store: Store, raw: string): Promise<TokenRecord | undefined> {
  const credential = apiTokenCredential(raw.trim());
  if (!credential) return undefined;
  const token = await store.findToken(credential.id);
  const ok = secretMatches(token?.secretHash ?? NO_HASH, credential.secret) && token !== undefined && tokenLive(token);
  return ok ? token : undefined;
}

/** Stores a new session for the token and sets its cookie; answers the CSRF token and expiry. */
export async function startSession(store: Store, token: TokenRecord, request: FastifyRequest, reply: FastifyReply) {
  const id = newId('ses');
  const secret = randomBytes(32).toString('base64url');
  const expiresAt = new Date(Date.now() + SESSION_TTL_MS);
  await store.insertSession({ id, tokenId: token.id, secretHash: hashSecret(secret), expiresAt: expiresAt.toISOString() });
  reply.setCookie(SESSION_COOKIE, `${id}.${secret}`, {
    httpOnly: true,
    sameSite: 'strict',
    secure: request.protocol === 'https',
    path: '/',
    expires: expiresAt,
  });
  return { csrfToken: csrfTokenFor(secret), expiresAt: expiresAt.toISOString() };
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', secure: request.protocol === 'https', path: '/' });
}

/**
 * The session of the request's cookie (undefined when there is none, or it is unknown, expired,
 * revoked or its token is). A state-changing request without the right CSRF header is refused.
 */
export async function sessionAuth(store: Store, request: FastifyRequest): Promise<UserAuth | undefined> {
  const m = COOKIE_PATTERN.exec(request.cookies?.[SESSION_COOKIE] ?? '');
  if (!m) return undefined;
  const [, id, secret] = m as unknown as [string, string, string];
  const session = await store.findSession(id);
  const ok = secretMatches(session?.secretHash ?? NO_HASH, secret) && session !== undefined;
  if (!ok || session.revokedAt !== null || session.expiresAt <= new Date().toISOString()) return undefined;
  const token = await store.findToken(session.tokenId);
  if (!token || !tokenLive(token)) return undefined;
  if (!SAFE_METHODS.has(request.method) && !csrfMatches(csrfTokenFor(secret), request.headers[CSRF_HEADER])) {
    throw new ApiError('FORBIDDEN', `a request made with the session cookie needs its CSRF token in ${CSRF_HEADER}`);
  }
  sessions.set(request, session);
  return { kind: 'user', tokenId: token.id, tokenName: token.name, orgId: token.orgId, role: token.role, instanceAdmin: token.instanceAdmin, project: token.project };
}

/** The session this request was authenticated with (undefined for Bearer), with its CSRF token. */
export function sessionOf(request: FastifyRequest): { session: SessionRecord; csrfToken: string } | undefined {
  const session = sessions.get(request);
  const m = COOKIE_PATTERN.exec(request.cookies?.[SESSION_COOKIE] ?? '');
  return session && m ? { session, csrfToken: csrfTokenFor(m[2]!) } : undefined;
}
