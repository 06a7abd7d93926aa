import { ApiError, WhoAmI } from '@buildmesh/protocol';
import type { App } from '../http/app.js';
import type { ControllerContext } from '../context.js';
import { userOf } from '../auth/roles.js';

export function registerMeRoutes(app: App, ctx: ControllerContext): void {
  app.get('/v1/me', { config: { access: 'read' }, schema: { tags: ['tenancy'], response: { 200: WhoAmI } } }, async (request) => {
    const auth = userOf(request);
    const [org, token] = await Promise.all([ctx.store.getOrg(auth.orgId), ctx.store.findToken(auth.tokenId)]);
    if (!org || !token) throw new ApiError('UNAUTHENTICATED');
    const { secretHash: _hash, ...info } = token;
    return { org, token: info };
  });
}
