/**
 * Log cursors: opaque to clients, a LogPosition to us. The same string is a
 * page's nextCursor and an SSE event id, so a reconnect with Last-Event-ID
 * resumes exactly after the last line delivered. `l2.A.S.L` = line L of the
 * first batch at or after (attempt A, batch S); a page cut inside a batch points
 * into it. `l1.A.S` (after batch S, issued before pages were cut by bytes) stays valid.
 */
import { ApiError, MAX_INT32 } from '@buildmesh/protocol';
import type { LogPosition } from '../logs/log-lines.js';

const V2 = /^l2\.(\d{1,6})\.(\d{1,12})\.(\d{1,6})$/;
const V1 = /^l1\.(\d{1,6})\.(\d{1,12})$/;
export const START: LogPosition = { attempt: 0, seq: 0, line: 0 };

export function formatCursor(p: LogPosition): string {
  return `l2.${p.attempt}.${p.seq}.${p.line}`;
}

/** undefined/empty → the start; anything we did not issue → 400 INVALID_CURSOR. */
export function parseCursor(cursor: string | undefined): LogPosition {
  if (cursor === undefined || cursor === '') return START;
  const v2 = V2.exec(cursor);
  if (v2) return inRange({ attempt: Number(v2[1]), seq: Number(v2[2]), line: Number(v2[3]) });
  const v1 = V1.exec(cursor);
  if (!v1) throw new ApiError('INVALID_CURSOR');
  const attempt = Number(v1[1]);
  const seq = Number(v1[2]);
  return attempt === 0 && seq === 0 ? START : inRange({ attempt, seq: seq + 1, line: 0 });
}

/** Attempts and batch numbers are 32-bit integers in the store (PostgreSQL refuses larger ones in a query). */
function inRange(p: LogPosition): LogPosition {
  if (p.seq > MAX_INT32) throw new ApiError('INVALID_CURSOR');
  return p;
}
