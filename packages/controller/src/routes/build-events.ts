/**
 * GET /v1/builds/events: the builds list as Server-Sent Events (Accept: text/event-stream; without
 * it, one JSON page like GET /v1/builds), for the dashboard. The first event
 * is the page the same query on GET /v1/builds answers; another follows whenever that page changes:
 * a build of the org entered the queue, or one of the builds on the page changed state (wake-ups,
 * re-read from the store; a re-check every RECHECK_MS covers a lost hint).
 */
import { BuildList, ListBuildsQuery } from '@buildmesh/protocol';
import type { App } from '../http/app.js';
import type { ControllerContext } from '../context.js';
import { userOf } from '../auth/roles.js';

const RECHECK_MS = 5_000;
export const BUILDS_EVENT = 'builds';

export function registerBuildEventRoutes(app: App, ctx: ControllerContext): void {
  app.get(
    '/v1/builds/events',
    {
      config: { access: 'read' },
      schema: {
        tags: ['builds'],
        querystring: ListBuildsQuery,
        response: { 200: BuildList },
        description:
          'With Accept: text/event-stream, Server-Sent Events: `builds` events carrying `{ builds, nextCursor }` (as GET /v1/builds answers the same query), sent again whenever that page changes; without it, that page as JSON.',
      },
    },
    async (request, reply) => {
      const { orgId } = userOf(request);
      const query = { ...request.query, limit: request.query.limit ?? 50 };
      if (!/\btext\/event-stream\b/.test(request.headers.accept ?? '')) return ctx.store.listBuilds(orgId, query);
      const sse = ctx.streams.openFor(orgId, request, reply);
      // Set by any hint; checked before sleeping so a wake-up during a read is never lost.
      let dirty = true;
      let wake: (() => void) | undefined;
      const poke = (): void => {
        dirty = true;
        wake?.();
      };
      const watched = new Map<string, () => void>();
      const unQueued = ctx.wakeups.onBuildQueued((event) => {
        if (event.orgId === null || event.orgId === orgId) poke();
      });
      const unShutdown = ctx.shutdown.onShutdown(() => sse.close());
      const recheck = setInterval(poke, RECHECK_MS);
      sse.onClose(() => {
        unQueued();
        unShutdown();
        clearInterval(recheck);
        for (const unwatch of watched.values()) unwatch();
        wake?.();
      });
      let last = '';
      try {
        while (!sse.closed) {
          dirty = false;
          const page = await ctx.store.listBuilds(orgId, query);
          const json = JSON.stringify({ builds: page.builds, nextCursor: page.nextCursor });
          if (json !== last) {
            last = json;
            await sse.sendJson(BUILDS_EVENT, json);
          }
          // Follow the state changes of exactly the builds on the page.
          const shown = new Set(page.builds.map((b) => b.id));
          for (const [id, unwatch] of watched) {
            if (shown.has(id)) continue;
            unwatch();
            watched.delete(id);
          }
          for (const id of shown) if (!watched.has(id)) watched.set(id, ctx.wakeups.onBuild(id, (e) => e.type === 'status' && poke()));
          if (!dirty && !sse.closed) await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      } catch (err) {
        request.log.error({ err }, 'builds stream failed');
      } finally {
        sse.close();
      }
    },
  );
}
