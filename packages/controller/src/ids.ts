import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower-case

/**
 * `<prefix>_` + 10 characters of milliseconds + 16 random characters: sortable by
 * creation time (cursor pagination follows it) and unguessable (80 random bits).
 */
export function newId(prefix: 'org' | 'prj' | 'tok' | 'enr' | 'wrk' | 'bld' | 'att' | 'art'): string {
  let time = Date.now();
  let head = '';
  for (let i = 0; i < 10; i++) {
    head = ALPHABET[time % 32] + head;
    time = Math.floor(time / 32);
  }
  const random = randomBytes(16);
  let tail = '';
  for (const byte of random) tail += ALPHABET[byte % 32];
  return `${prefix}_${head}${tail}`;
}
