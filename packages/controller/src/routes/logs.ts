/**
 * Reading a build's log: pages with an opaque cursor, or a live follow over
 * Server-Sent Events (`follow=true` or `Accept: text/event-stream`) that
 * delivers each line once, in order, resumes after `Last-Event-ID`, and ends with
 * `end` once the build has ended and every line was sent.
 */
import { ApiError, BuildIdParams, LogPage, LogQuery, SSE_EVENTS, isTerminal, type BuildStatus } from '@buildmesh/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../http/app.js';
import type { ControllerContext } from '../context.js';
import { userOf } from '../auth/roles.js';
import { formatCursor, parseCursor, type LogPosition } from '../http/log-cursor.js';
import { SseStream } from '../http/sse.js';

const FOLLOW_PAGE_BATCHES = 200;

function wantsStream(request: FastifyRequest, follow: boolean | undefined): boolean {
  return follow === true || (request.headers.accept ?? '').includes('text/event-stream');
}

async function follow(
  ctx: ControllerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  orgId: string,
  buildId: string,
  start: LogPosition | null,
  attempt: number | undefined,
): Promise<void> {
  const sse = new SseStream(request, reply);
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
      // Status first: if the build has ended now, every line it will ever have is already stored.
      const build = await ctx.store.getBuild(orgId, buildId);
      if (!build) break;
      if (build.status !== lastStatus) {
        lastStatus = build.status;
        await sse.send(SSE_EVENTS.status, { status: build.status });
      }
      for (;;) {
        const page = await ctx.store.readLogs(orgId, buildId, { after: cursor, limit: FOLLOW_PAGE_BATCHES, attempt });
        if (!page || page.entries.length === 0 || sse.closed) break;
        cursor = page.last ?? cursor;
        await sse.send(SSE_EVENTS.lines, { entries: page.entries }, formatCursor(cursor));
      }
      if (isTerminal(build.status)) {
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

export function registerLogRoutes(app: App, ctx: ControllerContext): void {
  app.get(
    '/v1/builds/:id/logs',
    {
      config: { access: 'read' },
      schema: {
        tags: ['builds'],
        params: BuildIdParams,
        querystring: LogQuery,
        response: { 200: LogPage },
        description: 'A page of log lines, or with follow=true / Accept: text/event-stream a live SSE stream (events: lines, status, end).',
      },
    },
    async (request, reply) => {
      const { orgId } = userOf(request);
      const buildId = request.params.id;
      const streaming = wantsStream(request, request.query.follow);
      const lastEventId = request.headers['last-event-id'];
      const after = parseCursor(streaming && typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : request.query.cursor);
      const build = await ctx.store.getBuild(orgId, buildId);
      if (!build) throw new ApiError('NOT_FOUND', 'no such build');
      if (streaming) return follow(ctx, request, reply, orgId, buildId, after, request.query.attempt);

      const options = { limit: request.query.limit ?? 100, attempt: request.query.attempt };
      const page = await ctx.store.readLogs(orgId, buildId, { ...options, after });
      if (!page) throw new ApiError('NOT_FOUND', 'no such build');
      const last = page.last ?? after;
      let complete = false;
      if (isTerminal(build.status)) {
        // The status was read first, so nothing can be appended after this check.
        const more = page.entries.length === 0 ? undefined : await ctx.store.readLogs(orgId, buildId, { ...options, after: last, limit: 1 });
        complete = !more || more.entries.length === 0;
      }
      return { entries: page.entries, nextCursor: formatCursor(last), complete };
    },
  );
}
