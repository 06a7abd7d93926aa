import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower-case
const RANDOM_CHARS = 16; // 80 bits
const RANDOM_SPACE = 1n << 80n;

let lastTime = -1;
let lastRandom = 0n;

/**
 * `<prefix>_` + 10 characters of milliseconds + 16 random characters: sortable by
 * creation time (cursor pagination and queue age follow it) and unguessable (80
 * random bits). Ids made in the same millisecond by this process increment the
 * random part (as monotonic ULIDs do), so their order is their creation order too.
 */
/** The smallest id of `prefix` made at or after `time` (ms): a lower bound for an index range by creation time. */
export function idAtTime(prefix: Parameters<typeof newId>[0], time: number): string {
  return `${prefix}_${timePart(time)}${'0'.repeat(RANDOM_CHARS)}`;
}

/** 10 characters of milliseconds, most significant first. */
function timePart(time: number): string {
  let head = '';
  for (let i = 0, t = time; i < 10; i++, t = Math.floor(t / 32)) head = ALPHABET[t % 32] + head;
  return head;
}

export function newId(prefix: 'org' | 'prj' | 'tok' | 'enr' | 'wrk' | 'bld' | 'att' | 'art' | 'ses' | 'whk' | 'dlv' | 'evt' | 'aud' | 'trr'): string {
  let time = Date.now();
  if (time <= lastTime && lastRandom + 1n < RANDOM_SPACE) {
    time = lastTime;
    lastRandom += 1n;
  } else {
    lastTime = time;
    lastRandom = BigInt(`0x${randomBytes(10).toString('hex')}`);
  }
  let tail = '';
  for (let i = 0, r = lastRandom; i < RANDOM_CHARS; i++, r >>= 5n) tail = ALPHABET[Number(r & 31n)] + tail;
  return `${prefix}_${timePart(time)}${tail}`;
}
