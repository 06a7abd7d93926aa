import { Stats, StatsQuery } from '@buildmesh/protocol';
import type { App } from '../http/app.js';
import type { ControllerContext } from '../context.js';
import { userOf } from '../auth/roles.js';
import { buildStats } from '../stats/summary.js';

/** GET /v1/stats (read): success rate and duration percentiles of the org's builds over a window. */
export function registerStatsRoutes(app: App, ctx: ControllerContext): void {
  app.get('/v1/stats', { config: { access: 'read' }, schema: { tags: ['builds'], querystring: StatsQuery, response: { 200: Stats } } }, async (request) =>
    buildStats(ctx.store, userOf(request).orgId, request.query.hours ?? 168),
  );
}
