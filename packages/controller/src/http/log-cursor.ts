/**
 * Log cursors: opaque to clients, (attempt, batch seq) to us. The same string is
 * a page's nextCursor and an SSE event id, so a reconnect with Last-Event-ID
 * resumes exactly after the last line delivered.
 */
import { ApiError } from '@buildmesh/protocol';

export interface LogPosition {
  attempt: number;
  seq: number;
}

const PATTERN = /^l1\.(\d{1,6})\.(\d{1,12})$/;
export const START: LogPosition = { attempt: 0, seq: 0 };

export function formatCursor(position: LogPosition | null): string {
  const p = position ?? START;
  return `l1.${p.attempt}.${p.seq}`;
}

/** undefined/empty → the start; anything we did not issue → 400 INVALID_CURSOR. */
export function parseCursor(cursor: string | undefined): LogPosition | null {
  if (cursor === undefined || cursor === '') return null;
  const m = PATTERN.exec(cursor);
  if (!m) throw new ApiError('INVALID_CURSOR');
  const position = { attempt: Number(m[1]), seq: Number(m[2]) };
  return position.attempt === 0 && position.seq === 0 ? null : position;
}
