import { ApiError, CreateOrgRequest, Org, OrgList } from '@buildmesh/protocol';
import type { App } from '../http/app.js';
import type { ControllerContext } from '../context.js';
import { audit } from '../audit/record.js';
import { userOf } from '../auth/roles.js';
import { newId } from '../ids.js';

export function registerOrgRoutes(app: App, ctx: ControllerContext): void {
  app.post(
    '/v1/orgs',
    { config: { access: 'instance-admin', body: 'json' }, schema: { tags: ['tenancy'], body: CreateOrgRequest, response: { 201: Org } } },
    async (request, reply) => {
      const org = await ctx.store.createOrg({ id: newId('org'), name: request.body.name });
      await audit(ctx, request, { action: 'org.create', orgId: org.id, target: { type: 'org', id: org.id }, details: { name: org.name } });
      return reply.code(201).send(org);
    },
  );

  /** The instance admin sees every org; anyone else only their own. */
  app.get('/v1/orgs', { config: { access: 'read' }, schema: { tags: ['tenancy'], response: { 200: OrgList } } }, async (request) => {
    const auth = userOf(request);
    if (auth.instanceAdmin) return { orgs: await ctx.store.listOrgs() };
    const own = await ctx.store.getOrg(auth.orgId);
    if (!own) throw new ApiError('UNAUTHENTICATED');
    return { orgs: [own] };
  });
}
