import { Type, type Static } from 'typebox';

export const LogStream = Type.Union([Type.Literal('stdout'), Type.Literal('stderr'), Type.Literal('system')]);
export type LogStream = Static<typeof LogStream>;

export const PhaseResult = Type.Union([
  Type.Literal('success'),
  Type.Literal('failed'),
  Type.Literal('warning'),
  Type.Literal('skipped'),
  Type.Literal('canceled'),
  Type.Literal('timed_out'),
]);
export type PhaseResult = Static<typeof PhaseResult>;

/** One log record, like EAS's bunyan records: phase, stream and time on every line; markers at phase edges. */
export const LogLine = Type.Object(
  {
    /** Milliseconds since the epoch, on the worker's clock. */
    t: Type.Number(),
    stream: LogStream,
    phase: Type.Optional(Type.String({ maxLength: 64 })),
    text: Type.String({ maxLength: 65536 }),
    marker: Type.Optional(Type.Union([Type.Literal('START_PHASE'), Type.Literal('END_PHASE')])),
    result: Type.Optional(PhaseResult),
    durationMs: Type.Optional(Type.Number()),
    exitCode: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
  },
  { additionalProperties: false },
);
export type LogLine = Static<typeof LogLine>;

/** The worker sends batches numbered 1, 2, 3… per attempt; re-sending one is harmless, skipping one is refused. */
export const LogBatch = Type.Object(
  {
    seq: Type.Integer({ minimum: 1 }),
    lines: Type.Array(LogLine, { minItems: 1, maxItems: 20000 }),
  },
  { additionalProperties: false },
);
export type LogBatch = Static<typeof LogBatch>;
export const LOG_BATCH_MAX_BYTES = 4 * 1024 * 1024;

export const LogBatchAck = Type.Object({ seq: Type.Integer(), duplicate: Type.Boolean() });
export type LogBatchAck = Static<typeof LogBatchAck>;

/** Log lines as read back: each with the attempt it came from. */
export const LogEntry = Type.Intersect([LogLine, Type.Object({ attempt: Type.Integer() })]);
export type LogEntry = Static<typeof LogEntry>;

/** A page holds about this many bytes of serialised entries at most (always at least one line). */
export const LOG_PAGE_MAX_BYTES = 1024 * 1024;
export const LOG_PAGE_MAX_LINES = 10000;
/**
 * A reader of a whole log (the dashboard) may ask for pages up to this large (limit, maxBytes):
 * fewer round trips, and each stored batch (up to 4 MiB) is loaded about once instead of once per 1 MiB page.
 */
export const LOG_PAGE_LARGE_LINES = 50_000;
export const LOG_PAGE_LARGE_BYTES = 8 * 1024 * 1024;
/** The largest attempt or batch number a store holds (32-bit integer columns): a larger one in a request is refused 400. */
export const MAX_INT32 = 2_147_483_647;

export const LogQuery = Type.Object({
  /** Opaque; from a previous page's nextCursor or an SSE event id. It may point inside a batch. */
  cursor: Type.Optional(Type.String({ maxLength: 64 })),
  /** Maximum lines per page; a page also stops at about maxBytes. */
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LOG_PAGE_LARGE_LINES, default: 1000 })),
  /** About how many bytes of entries a page holds at most (default LOG_PAGE_MAX_BYTES); not with follow. */
  maxBytes: Type.Optional(Type.Integer({ minimum: 1024, maximum: LOG_PAGE_LARGE_BYTES })),
  /**
   * Start at the last N stored lines instead of a cursor (then up to N lines per page; nextCursor
   * continues after them). With follow, the stream starts there. Not with cursor.
   */
  tail: Type.Optional(Type.Integer({ minimum: 1, maximum: LOG_PAGE_MAX_LINES })),
  attempt: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_INT32 })),
  /** Follow as Server-Sent Events (also chosen by `Accept: text/event-stream`). */
  follow: Type.Optional(Type.Boolean()),
  /** `entries` (default): a LogPage; `batches`: a LogBatchPage (not with follow). */
  format: Type.Optional(Type.Union([Type.Literal('entries'), Type.Literal('batches')])),
});
export type LogQuery = Static<typeof LogQuery>;

export const LogPage = Type.Object({
  entries: Type.Array(LogEntry),
  /** Pass back to continue after the last entry; stays valid forever. */
  nextCursor: Type.String(),
  /** True when the build has ended and every line has been read. */
  complete: Type.Boolean(),
});
export type LogPage = Static<typeof LogPage>;

/**
 * GET /v1/builds/:id/logs?format=batches: the stored batches as the worker sent them, each with its
 * attempt (the attempt of every line in it) — for a reader of a whole log (the dashboard): the
 * controller copies stored text, it neither cuts it into lines nor encodes them again. A page holds
 * whole batches (the first starts at the cursor's line) while they fit `limit` lines and `maxBytes`,
 * and always at least one batch (up to 20,000 lines, LOG_BATCH_MAX_BYTES). nextCursor and complete
 * as in LogPage; cursors of both formats are the same.
 */
export const LogBatchPage = Type.Object({
  batches: Type.Array(Type.Object({ attempt: Type.Integer(), lines: Type.Array(LogLine) })),
  nextCursor: Type.String(),
  complete: Type.Boolean(),
});
export type LogBatchPage = Static<typeof LogBatchPage>;

/**
 * SSE events on GET /v1/builds/:id/logs?follow=true:
 *   event: lines   id: <cursor>  data: { entries: LogEntry[] }
 *   event: status  data: { status: BuildStatus }
 *   event: end     data: { status: BuildStatus }   (after the last line of an ended build)
 * A reconnect with `Last-Event-ID` resumes exactly after the last delivered line.
 */
export const SSE_EVENTS = { lines: 'lines', status: 'status', end: 'end' } as const;
