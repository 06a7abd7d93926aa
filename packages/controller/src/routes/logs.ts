/**
 * Reading a build's log: pages with an opaque cursor (or the last N lines with
 * `tail`), or a live follow over Server-Sent Events (`follow=true` or
 * `Accept: text/event-stream`) that delivers each line once, in order, resumes
 * after `Last-Event-ID`, and ends with `end` once the build has ended and every
 * line was sent. Pages and events are bounded in lines and bytes and written as
 * they are read (logs/log-lines.ts), so a long log never sits in memory.
 */
import { Readable } from 'node:stream';
import { Type } from 'typebox';
import { ApiError, BuildIdParams, LOG_PAGE_MAX_BYTES, LogBatchPage, LogPage, LogQuery, SSE_EVENTS, isTerminal, type BuildStatus } from '@buildmesh/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../http/app.js';
import type { ControllerContext } from '../context.js';
import { userOf } from '../auth/roles.js';
import { formatCursor, parseCursor } from '../http/log-cursor.js';
import { readLogLines, tailPosition, type LogPosition } from '../logs/log-lines.js';
import { readLogBatches, type StoredBatch } from '../logs/log-batches.js';

/** One SSE `lines` event holds at most this much. */
const EVENT_LINES = 1000;
const EVENT_BYTES = 256 * 1024;
/** A page is written to the socket in pieces of about this size. */
const CHUNK_BYTES = 64 * 1024;

function wantsStream(request: FastifyRequest, follow: boolean | undefined): boolean {
  return follow === true || (request.headers.accept ?? '').includes('text/event-stream');
}

async function follow(
  ctx: ControllerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  orgId: string,
  buildId: string,
  start: LogPosition,
  attempt: number | undefined,
): Promise<void> {
  const sse = ctx.streams.openFor(orgId, request, reply);
  let cursor = start;
  let lastStatus: BuildStatus | undefined;
  // Set by any event; checked before sleeping so a wake-up during a read is never lost.
  let dirty = true;
  let wake: (() => void) | undefined;
  const poke = (): void => {
    dirty = true;
    wake?.();
  };
  const unsubscribe = ctx.wakeups.onBuild(buildId, poke);
  const unShutdown = ctx.shutdown.onShutdown(() => sse.close());
  sse.onClose(() => {
    unsubscribe();
    unShutdown();
    wake?.();
  });
  try {
    while (!sse.closed) {
      dirty = false;
      // Status first: if the build has ended and no attempt still runs, every line it will ever
      // have is already stored. A build canceled while running is `canceled` at once, but its
      // worker still sends the last lines (the stopped step, the on-cancel hook, the phase end)
      // until it reports or its lease lapses: the stream waits for those.
      const build = await ctx.store.getBuild(orgId, buildId, { withAttempts: true });
      if (!build) break;
      if (build.status !== lastStatus) {
        lastStatus = build.status;
        await sse.send(SSE_EVENTS.status, { status: build.status });
      }
      // Catch up one bounded event at a time; each waits for the socket before the next is read.
      for (let atEnd = false; !atEnd && !sse.closed; ) {
        const lines = readLogLines(ctx.store, orgId, buildId, cursor, { attempt, maxLines: EVENT_LINES, maxBytes: EVENT_BYTES });
        const entries: string[] = [];
        let r = await lines.next();
        for (; !r.done; r = await lines.next()) entries.push(r.value);
        atEnd = r.value.atEnd;
        if (entries.length === 0) break;
        cursor = r.value.next;
        await sse.sendJson(SSE_EVENTS.lines, `{"entries":[${entries.join(',')}]}`, formatCursor(cursor));
      }
      if (isTerminal(build.status) && !build.attempts?.some((a) => a.status === 'running')) {
        await sse.send(SSE_EVENTS.end, { status: build.status });
        break;
      }
      if (!dirty && !sse.closed) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } catch (err) {
    request.log.error({ err, buildId }, 'log follow failed');
  } finally {
    sse.close();
  }
}

/** A LogPage as JSON text, written while it is read. */
async function* pageJson(lines: AsyncGenerator<string, { next: LogPosition; atEnd: boolean }>, ended: boolean): AsyncGenerator<string> {
  let chunk = '{"entries":[';
  let first = true;
  let r = await lines.next();
  for (; !r.done; r = await lines.next()) {
    chunk += first ? r.value : `,${r.value}`;
    first = false;
    if (chunk.length >= CHUNK_BYTES) {
      yield chunk;
      chunk = '';
    }
  }
  // complete: the build had ended before the read began (its status was read first) and the read reached the end.
  yield `${chunk}],"nextCursor":${JSON.stringify(formatCursor(r.value.next))},"complete":${ended && r.value.atEnd}}`;
}

/** A LogBatchPage, written while it is read: the stored batches' bytes go to the socket as they are. */
async function* batchPageJson(batches: AsyncGenerator<StoredBatch, { next: LogPosition; atEnd: boolean }>, ended: boolean): AsyncGenerator<string | Buffer> {
  let separator = '';
  let r = await batches.next();
  yield '{"batches":[';
  for (; !r.done; r = await batches.next()) {
    yield `${separator}{"attempt":${r.value.attempt},"lines":`;
    yield r.value.lines;
    yield '}';
    separator = ',';
  }
  yield `],"nextCursor":${JSON.stringify(formatCursor(r.value.next))},"complete":${ended && r.value.atEnd}}`;
}

export function registerLogRoutes(app: App, ctx: ControllerContext): void {
  app.get(
    '/v1/builds/:id/logs',
    {
      config: { access: 'read' },
      schema: {
        tags: ['builds'],
        params: BuildIdParams,
        querystring: LogQuery,
        response: { 200: Type.Union([LogPage, LogBatchPage]) },
        description:
          'A page of log lines (at most `limit` lines and about 1 MiB), or the last `tail` lines; with format=batches the stored batches (LogBatchPage); with follow=true / Accept: text/event-stream a live SSE stream (events: lines, status, end).',
      },
    },
    async (request, reply) => {
      const { orgId } = userOf(request);
      const buildId = request.params.id;
      const { tail, attempt } = request.query;
      const streaming = wantsStream(request, request.query.follow);
      const lastEventId = request.headers['last-event-id'];
      const resumeFrom = streaming && typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : request.query.cursor;
      if (tail !== undefined && request.query.cursor) throw new ApiError('BAD_REQUEST', 'tail starts at the end of the log; it takes no cursor');
      let from = parseCursor(resumeFrom);
      const build = await ctx.store.getBuild(orgId, buildId);
      if (!build) throw new ApiError('NOT_FOUND', 'no such build');
      // An EventSource reconnects to the same URL with Last-Event-ID: that resumes, the tail was only the start.
      if (tail !== undefined && !resumeFrom) from = await tailPosition(ctx.store, orgId, buildId, tail, attempt);
      if (streaming && request.query.format === 'batches') throw new ApiError('BAD_REQUEST', 'format=batches reads pages; a live stream sends entries');
      if (streaming) return follow(ctx, request, reply, orgId, buildId, from, attempt);
      if (request.query.format === 'batches') {
        const maxLines = tail ?? request.query.limit ?? 1000;
        const batches = readLogBatches(ctx.store, orgId, buildId, from, { attempt, maxLines, maxBytes: request.query.maxBytes ?? LOG_PAGE_MAX_BYTES });
        return reply.type('application/json; charset=utf-8').send(Readable.from(batchPageJson(batches, isTerminal(build.status)), { objectMode: false, highWaterMark: CHUNK_BYTES }) as never);
      }

      const lines = readLogLines(ctx.store, orgId, buildId, from, { attempt, maxLines: tail ?? request.query.limit ?? 1000, maxBytes: request.query.maxBytes });
      // A stream skips the response serializer: the text is a LogPage by construction (pageJson).
      return reply.type('application/json; charset=utf-8').send(Readable.from(pageJson(lines, isTerminal(build.status)), { objectMode: false, highWaterMark: CHUNK_BYTES }) as never);
    },
  );
}
