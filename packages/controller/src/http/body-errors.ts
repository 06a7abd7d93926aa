/**
 * What a failed body read means for the client. A socket cut mid-body or a
 * multipart stream that ends early is the client's mistake (400
 * BODY_INCOMPLETE), never a 5xx.
 */
import { ApiError } from '@buildmesh/protocol';

const INCOMPLETE_CODES = new Set(['ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE', 'FST_MP_PREMATURE_CLOSE', 'EPIPE', 'ECONNABORTED']);
const INCOMPLETE_MESSAGES = ['aborted', 'Unexpected end of form', 'Unexpected end of multipart data', 'Part terminated early', 'premature close'];

export function isIncompleteBodyError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  if (code && INCOMPLETE_CODES.has(code)) return true;
  return INCOMPLETE_MESSAGES.some((m) => err.message.toLowerCase().includes(m.toLowerCase()));
}

/** Maps stream failures while reading a request body to catalogue errors; other errors pass through. */
export function asBodyError(err: unknown): unknown {
  if (err instanceof ApiError) return err;
  if (isIncompleteBodyError(err)) return new ApiError('BODY_INCOMPLETE');
  return err;
}
