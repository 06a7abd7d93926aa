import { Health } from '@buildmesh/protocol';
import type { App } from '../http/app.js';
import type { ControllerContext } from '../context.js';

/** Liveness and readiness: the store answers and the blob storage is writable. No paths, no secrets. */
export function registerHealthRoutes(app: App, ctx: ControllerContext): void {
  app.get('/health', { config: { access: 'public' }, schema: { tags: ['instance'], response: { 200: Health } } }, async () => {
    let ok = true;
    try {
      await Promise.all([ctx.store.ping(), ctx.blobs.check()]);
    } catch {
      ok = false;
    }
    return {
      status: ok ? ('ok' as const) : ('degraded' as const),
      version: ctx.version,
      store: ctx.store.dialect,
      blobs: ctx.blobs.kind,
      replica: ctx.replicaId,
      uptimeSeconds: Math.round((Date.now() - ctx.startedAt) / 1000),
    };
  });
}
