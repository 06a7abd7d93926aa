import type { App } from '../http/app.js';
import type { ControllerContext } from '../context.js';

/** Prometheus text: builds by state, queue depth by platform, workers online, claim latency. */
export function registerMetricsRoutes(app: App, ctx: ControllerContext): void {
  // Any API token (counts only: no ids, no names); anonymous scrapers are refused.
  app.get('/metrics', { config: { access: 'read' }, schema: { hide: true } }, async (_request, reply) => {
    const { contentType, body } = await ctx.metrics.render();
    return reply.type(contentType).send(body);
  });
}
