/**
 * The Fastify app: hooks that run for every request (shutdown gate, auth, body
 * guard), the one error handler, the OpenAPI document, and every route module.
 */
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import cookie from '@fastify/cookie';
import SerializerSelector from '@fastify/fast-json-stringify-compiler';
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiError } from '@buildmesh/protocol';
import type { ControllerContext } from './context.js';
import { Authenticator } from './auth/authenticate.js';
import type { App } from './http/app.js';
import { guardBody, lingerIfBodyUnread } from './http/body-guard.js';
import { ERROR_RESPONSE_SCHEMA, sendError } from './http/errors.js';
import { MAX_CLAIM_WAIT_MS } from './config.js';
import './http/route-config.js';
import { registerArtifactRoutes } from './routes/artifacts.js';
import { registerBlobRoutes } from './routes/blobs.js';
import { registerAttemptRoutes } from './routes/attempts.js';
import { registerBuildRoutes } from './routes/builds.js';
import { registerEnrollmentTokenRoutes } from './routes/enrollment-tokens.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerLogRoutes } from './routes/logs.js';
import { registerMeRoutes } from './routes/me.js';
import { registerMetricsRoutes } from './routes/metrics.js';
import { registerOrgRoutes } from './routes/orgs.js';
import { registerProjectRoutes } from './routes/projects.js';
import { registerTokenRoutes } from './routes/tokens.js';
import { registerSessionRoutes } from './routes/sessions.js';
import { registerInstallLinkRoutes } from './routes/install-links.js';
import { registerBuildEventRoutes } from './routes/build-events.js';
import { registerDashboard } from './http/dashboard.js';
import { registerOpenApi } from './http/openapi.js';
import { registerCliPackageRoutes } from './routes/cli-package.js';
import { registerWorkerRoutes } from './routes/workers.js';
import { registerWebhookRoutes } from './routes/webhooks.js';
import { registerAuditRoutes } from './routes/audit.js';
import { registerTrustRoutes } from './routes/trust.js';
import { registerProvenanceRoutes } from './routes/provenance.js';
import { registerSsoRoutes } from './routes/sso.js';
import { registerStatsRoutes } from './routes/stats.js';

/** Small JSON bodies by default; routes that take more say so (credentials, log batches). */
const JSON_BODY_LIMIT = 1024 * 1024;
/** Idle sockets are closed after this; it must outlast the longest claim long-poll. */
export const CONNECTION_TIMEOUT_MS = MAX_CLAIM_WAIT_MS + 30_000;

/**
 * Validators and response serializers are compiled on a route's first request, not at start-up:
 * compiling all of them up front was a third of a restarted controller's time to answer, the
 * window in which every worker and CLI call fails (docs/fast-start.md).
 */
function lazily<F extends (...args: never[]) => unknown>(compile: () => F): F {
  let compiled: F | undefined;
  return ((...args: Parameters<F>) => (compiled ??= compile())(...args)) as F;
}

function lazySerializers() {
  const factory = SerializerSelector();
  return (...factoryArgs: Parameters<typeof factory>) => {
    const compile = factory(...factoryArgs);
    return (route: Parameters<typeof compile>[0]) => lazily(() => compile(route));
  };
}

export async function buildServer(ctx: ControllerContext, logger: FastifyBaseLogger): Promise<App> {
  const app: App = Fastify({
    loggerInstance: logger,
    // Uploads of 2 GiB take as long as they take; stalls are cut by the body idle timeout instead.
    requestTimeout: 0,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    bodyLimit: JSON_BODY_LIMIT,
    // Per-request log lines would cost more than the requests at thousands per second; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 256 },
    // request.ip follows X-Forwarded-For only when the TCP peer is one of these load balancers.
    trustProxy: ctx.options.trustedProxies ? ctx.options.trustedProxies.split(',').map((p) => p.trim()).filter(Boolean) : false,
    frameworkErrors: (error, request, reply) => sendError(error, request, reply),
    schemaController: { compilersFactory: { buildSerializer: lazySerializers() } },
  })
    .withTypeProvider<TypeBoxTypeProvider>()
    .setValidatorCompiler((route) => lazily(() => TypeBoxValidatorCompiler(route)));

  const authenticator = new Authenticator(ctx.store, { workerSeenEveryMs: Math.max(1000, Math.floor(ctx.onlineWithinMs / 4)) });

  app.decorateRequest('auth', null);
  // Parses Cookie before the auth hook below runs (the dashboard's session cookie).
  await app.register(cookie);
  // Stream bodies (artifact uploads) are read by their handler, never buffered here.
  app.addContentTypeParser('application/octet-stream', (_request, _payload, done) => done(null, undefined));
  app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
  // Not-found handling (JSON 404 for the API, index.html for the dashboard's routes) is set by registerDashboard.

  app.addHook('onRequest', async (request, reply) => {
    if (ctx.shutdown.closing) {
      reply.header('connection', 'close');
      throw new ApiError('SHUTTING_DOWN');
    }
    if (request.is404) return;
    await authenticator.authenticate(request);
    guardBody(request, reply, { bodyIdleTimeoutMs: ctx.options.bodyIdleTimeoutMs, connectionTimeoutMs: CONNECTION_TIMEOUT_MS });
  });
  app.addHook('onResponse', async (request) => lingerIfBodyUnread(request));

  // Before the routes: it records them as they are declared.
  registerOpenApi(app, {
    openapi: '3.1.0',
    info: {
      title: 'BuildMesh controller API',
      version: ctx.version,
      description: 'Errors are `{ error: { code, message } }` with a code from the catalogue in @buildmesh/protocol errors.ts.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API token, worker credential or enrollment token' } },
      schemas: { Error: ERROR_RESPONSE_SCHEMA as never },
    },
    security: [{ bearer: [] }],
  });

  registerHealthRoutes(app, ctx);
  registerMetricsRoutes(app, ctx);
  registerMeRoutes(app, ctx);
  registerOrgRoutes(app, ctx);
  registerTokenRoutes(app, ctx);
  registerEnrollmentTokenRoutes(app, ctx);
  registerProjectRoutes(app, ctx);
  registerBuildRoutes(app, ctx);
  registerLogRoutes(app, ctx);
  registerArtifactRoutes(app, ctx);
  registerBlobRoutes(app, ctx);
  registerWorkerRoutes(app, ctx);
  registerAttemptRoutes(app, ctx);
  registerSessionRoutes(app, ctx);
  registerInstallLinkRoutes(app, ctx);
  registerBuildEventRoutes(app, ctx);
  registerWebhookRoutes(app, ctx);
  registerAuditRoutes(app, ctx);
  registerTrustRoutes(app, ctx);
  registerProvenanceRoutes(app, ctx);
  registerSsoRoutes(app, ctx);
  registerStatsRoutes(app, ctx);
  registerCliPackageRoutes(app);
  await registerDashboard(app);

  await app.ready();
  return app;
}
