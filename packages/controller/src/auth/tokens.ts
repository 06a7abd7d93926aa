/**
 * Bearer credentials: `bm<kind>_<row id>_<secret>` with kind t (API token),
 * e (worker enrollment token) or w (worker credential). The id part names the
 * row, so a lookup is one primary-key read; only sha256(secret) is stored and it
 * is compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type CredentialKind = 't' | 'e' | 'w';
const ID_PREFIX = { t: 'tok', e: 'enr', w: 'wrk' } as const satisfies Record<CredentialKind, string>;

const TOKEN_PATTERN = /^bm([tew])_((?:tok|enr|wrk)_[0-9a-z]{26})_([A-Za-z0-9_-]{43})$/;
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
/** Long enough for any credential we issue or accept; longer headers are refused without a lookup. */
export const MAX_CREDENTIAL_LENGTH = 512;
export const MIN_ADMIN_TOKEN_LENGTH = 24;

export interface ParsedCredential {
  kind: CredentialKind;
  id: string;
  secret: string;
}

export const hashSecret = (secret: string): Buffer => createHash('sha256').update(secret, 'utf8').digest();

/** Constant-time: the comparison takes as long for a near miss as for a far one. */
export function secretMatches(storedHash: Buffer, secret: string): boolean {
  const candidate = hashSecret(secret);
  return storedHash.length === candidate.length && timingSafeEqual(storedHash, candidate);
}

/** A fresh credential for a new row: the full token (shown once) and the hash to store. */
export function mintCredential(kind: CredentialKind, id: string): { token: string; secretHash: Buffer } {
  if (!id.startsWith(`${ID_PREFIX[kind]}_`)) throw new Error(`a ${kind} credential needs a ${ID_PREFIX[kind]}_ id, got ${id}`);
  const secret = randomBytes(32).toString('base64url');
  return { token: `bm${kind}_${id}_${secret}`, secretHash: hashSecret(secret) };
}

export function parseCredential(raw: string): ParsedCredential | undefined {
  const m = TOKEN_PATTERN.exec(raw);
  if (!m) return undefined;
  const kind = m[1] as CredentialKind;
  const id = m[2]!;
  if (!id.startsWith(`${ID_PREFIX[kind]}_`)) return undefined;
  return { kind, id, secret: m[3]! };
}

/**
 * BUILDMESH_ADMIN_TOKEN may be any string of 24+ characters. One in our own
 * format is used as-is; any other gets a row id derived from it (a keyed hash,
 * domain-separated from the stored secret hash), so lookup stays by id and the
 * comparison stays hash-and-constant-time like every other token.
 */
export function apiTokenCredential(raw: string): ParsedCredential | undefined {
  const parsed = parseCredential(raw);
  if (parsed) return parsed.kind === 't' ? parsed : undefined;
  if (raw.length < MIN_ADMIN_TOKEN_LENGTH || raw.length > MAX_CREDENTIAL_LENGTH) return undefined;
  const digest = createHash('sha256').update('buildmesh admin token id\0').update(raw, 'utf8').digest();
  let tail = '';
  for (let i = 0; i < 26; i++) tail += ALPHABET[digest[i]! % 32];
  return { kind: 't', id: `tok_${tail}`, secret: raw };
}

/** `Authorization: Bearer <credential>` → the credential, or undefined. */
export function bearerOf(header: string | undefined): string | undefined {
  if (!header || header.length > MAX_CREDENTIAL_LENGTH + 7) return undefined;
  const m = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m?.[1];
}

/** Not revoked and, for a token an OIDC exchange minted, not past its expiry. */
export const tokenLive = (token: { revokedAt: string | null; expiresAt: string | null }, now = new Date().toISOString()): boolean =>
  token.revokedAt === null && (token.expiresAt === null || token.expiresAt > now);
