/**
 * The web dashboard on the API's origin: its built files (packages/dashboard/dist)
 * at `/`, index.html for the app's own routes (/builds/…, /install/…), and the
 * security headers every response carries. /v1, /health and /metrics are never
 * shadowed: an unknown path under them stays a JSON 404.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { App } from './app.js';
import { notFound } from './errors.js';

/** Scripts, styles, images and API calls from this origin only; no inline script; never framed. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const API_PREFIXES = ['/v1/', '/v1?', '/health', '/metrics'];
const isApiPath = (url: string): boolean => url === '/v1' || API_PREFIXES.some((p) => url.startsWith(p));

/** Where the built dashboard is: beside the @buildmesh/dashboard package (found from here or from the CLI bundle). */
export function dashboardDir(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('@buildmesh/dashboard/package.json');
    const dist = join(dirname(pkg), 'dist');
    return existsSync(join(dist, 'index.html')) ? dist : undefined;
  } catch {
    return undefined;
  }
}

export async function registerDashboard(app: App, dir: string | undefined = dashboardDir()): Promise<void> {
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'same-origin');
    if (!isApiPath(request.url)) {
      // Hashed asset names never change content; index.html (and the app's routes) is always revalidated.
      const immutable = request.url.startsWith('/assets/');
      reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    }
    return payload;
  });

  if (!dir) {
    app.log.warn('the dashboard is not built (packages/dashboard/dist): run `npm run build`; / answers 404');
    app.setNotFoundHandler(notFound);
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    wildcard: true,
    index: false,
    preCompressed: true,
    cacheControl: false,
    dotfiles: 'deny',
    decorateReply: true,
    schemaHide: true,
    // Unknown files fall through to the not-found handler below (the app's routes).
    allowedPath: (pathName) => !isApiPath(pathName),
  });
  // The root is the app, not a directory (which the static plugin refuses when the client takes no compression).
  app.get('/', { config: { access: 'public' }, schema: { hide: true } }, (_request, reply) => reply.type('text/html; charset=utf-8').sendFile('index.html'));
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const wantsPage = (request.method === 'GET' || request.method === 'HEAD') && !isApiPath(request.url) && !request.url.startsWith('/assets/');
    if (!wantsPage) return notFound(request, reply);
    return reply.type('text/html; charset=utf-8').sendFile('index.html');
  });
}
