/**
 * Install links: a grant to download one artifact of one org until a moment, sealed (AES-GCM) with
 * the instance's encryption key, so every replica can open it and nobody can forge or alter one.
 * Nothing is stored: a grant ends when it expires, or when its artifact is gone (retention).
 */
import type { Keyring } from '../crypto/keyring.js';

interface Grant {
  p: 'install';
  o: string;
  b: string;
  a: string;
  /** Expiry, ms since the epoch. */
  e: number;
}

export function mintInstallGrant(keyring: Keyring, where: { orgId: string; buildId: string; artifactId: string }, expiresAt: number): string {
  const grant: Grant = { p: 'install', o: where.orgId, b: where.buildId, a: where.artifactId, e: expiresAt };
  return keyring.sealJson(grant).toString('base64url');
}

/** The artifact a grant names, or undefined when it was altered, sealed with another key, or has expired. */
export function openInstallGrant(keyring: Keyring, raw: string, now = Date.now()): { orgId: string; buildId: string; artifactId: string } | undefined {
  let grant: Partial<Grant>;
  try {
    grant = keyring.openJson<Partial<Grant>>(Buffer.from(raw, 'base64url'));
  } catch {
    return undefined;
  }
  if (grant.p !== 'install' || typeof grant.o !== 'string' || typeof grant.b !== 'string' || typeof grant.a !== 'string') return undefined;
  if (typeof grant.e !== 'number' || grant.e <= now) return undefined;
  return { orgId: grant.o, buildId: grant.b, artifactId: grant.a };
}
