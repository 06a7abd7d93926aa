/**
 * Masks every secret of a job in log text before the text is queued for
 * shipping: the value itself, its base64 form (at each of the three byte
 * alignments it can have inside a longer base64 string, and as the 76-column
 * lines `base64` wraps it into), and, for a value that is itself base64, its
 * decoded text. One regular expression per attempt, so a line costs one scan.
 */
import type { AttemptSecrets } from '@buildmesh/protocol';

export const MASK = '********';

/** Shorter values are not masked: hiding every "1" or "yes" would destroy the log and protect nothing. */
export const MIN_SECRET_LENGTH = 3;
/** Variants shorter than this (partial base64 runs) match ordinary text too often. */
const MIN_VARIANT_LENGTH = 6;
/**
 * Binary blobs (a keystore, a p12) arrive base64-encoded and run to megabytes; they are masked by
 * their first 4 KiB only, which is what a log line can show of them recognisably anyway.
 */
const MAX_VARIANT_LENGTH = 4096;
const BASE64_LINE = 76;

export type Masker = (text: string) => string;

const identity: Masker = (text) => text;

/** The base64 of `value` as it appears when `offset` bytes precede it in the encoded stream. */
function base64AtOffset(value: Buffer, offset: 0 | 1 | 2): string {
  const encoded = Buffer.concat([Buffer.alloc(offset), value]).toString('base64').replace(/=+$/, '');
  const total = offset + value.length;
  // Characters that mix prefix bits (start) or the unknown next byte's bits (end) are dropped.
  const start = offset === 0 ? 0 : offset === 1 ? 2 : 3;
  const remainder = total % 3;
  const end = Math.floor(total / 3) * 4 + (remainder === 1 ? 1 : remainder === 2 ? 2 : 0);
  return encoded.slice(start, end);
}

function decodedText(value: string): string | undefined {
  if (value.length < 8 || value.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  // Only printable text can show up in a log as such; binary blobs cannot.
  return /^[\x20-\x7e\t\r\n]+$/.test(decoded) ? decoded : undefined;
}

/** Every string under which `secret` could appear in a log. */
export function secretVariants(secret: string): string[] {
  const variants = new Set<string>();
  const add = (v: string | undefined): void => {
    if (v && v.length >= MIN_VARIANT_LENGTH) variants.add(v.slice(0, MAX_VARIANT_LENGTH));
  };
  if (secret.length < MIN_SECRET_LENGTH) return [];
  variants.add(secret.slice(0, MAX_VARIANT_LENGTH));
  for (const line of secret.split(/\r?\n/)) if (line.length >= MIN_SECRET_LENGTH && line !== secret) add(line);
  const bytes = Buffer.from(secret.slice(0, MAX_VARIANT_LENGTH), 'utf8');
  const full = bytes.toString('base64');
  add(full);
  for (const offset of [0, 1, 2] as const) add(base64AtOffset(bytes, offset));
  // GNU `base64` wraps at 76 columns: each wrapped line is on a log line of its own.
  if (full.length > BASE64_LINE) for (let i = 0; i < full.length; i += BASE64_LINE) add(full.slice(i, i + BASE64_LINE));
  add(decodedText(secret));
  return [...variants];
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A masker for these secret values; the identity function when there are none. */
export function createMasker(secrets: Iterable<string>): Masker {
  const all = new Set<string>();
  for (const secret of secrets) for (const variant of secretVariants(secret)) all.add(variant);
  if (all.size === 0) return identity;
  // Longest first, so a value is masked whole rather than a shorter variant inside it.
  const pattern = new RegExp([...all].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|'), 'g');
  return (text) => text.replace(pattern, MASK);
}

/** The secret strings of an attempt: project secrets and every credential field that is a secret. */
export function attemptSecretValues(secrets: AttemptSecrets): string[] {
  const values = Object.values(secrets.secrets);
  const android = secrets.credentials?.android?.keystore;
  if (android) {
    values.push(android.keystorePassword, android.keystoreBase64);
    if (android.keyPassword) values.push(android.keyPassword);
  }
  for (const target of Object.values(secrets.credentials?.ios?.targets ?? {})) {
    values.push(target.p12Password, target.p12Base64, target.provisioningProfileBase64);
  }
  return values;
}
