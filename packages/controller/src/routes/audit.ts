import { AuditList, AuditQuery } from '@buildmesh/protocol';
import type { App } from '../http/app.js';
import type { ControllerContext } from '../context.js';
import { userOf } from '../auth/roles.js';

/** GET /v1/audit (admin): the caller's org's entries; the instance admin's covers every org and the shared pool. */
export function registerAuditRoutes(app: App, ctx: ControllerContext): void {
  app.get('/v1/audit', { config: { access: 'admin' }, schema: { tags: ['tenancy'], querystring: AuditQuery, response: { 200: AuditList } } }, async (request) => {
    const auth = userOf(request);
    const { since, cursor, limit } = request.query;
    return ctx.store.listAudit(auth.instanceAdmin ? null : auth.orgId, { ...(since ? { since } : {}), ...(cursor ? { cursor } : {}), limit: limit ?? 200 });
  });
}
