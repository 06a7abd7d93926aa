/**
 * Projects and what is stored per project: signing credentials (sealed per
 * platform, merged on PUT) and secrets (sealed). Values go in, never come out;
 * only the leasing worker reads them, through its attempt.
 */
import { Type } from 'typebox';
import {
  ApiError,
  AppVersion,
  AppVersionPlatform,
  SetAppVersionRequest,
  CreateProjectRequest,
  CredentialsBundle,
  CredentialsSummary,
  Ok,
  Platform,
  Project,
  ProjectList,
  ProjectParams,
  SecretInfo,
  SecretName,
  SecretScope,
  SecretValue,
  type Project as ProjectT,
} from '@buildmesh/protocol';
import type { App } from '../http/app.js';
import type { ControllerContext } from '../context.js';
import { audit } from '../audit/record.js';
import { userOf } from '../auth/roles.js';
import { sealSecret } from '../crypto/project-secrets.js';
import { newId } from '../ids.js';

/** Secret names become environment variables of the build's steps (rules: protocol env-names.ts). */
const SecretParams = Type.Object({ project: ProjectParams.properties.project, name: SecretName });
const CredentialsPlatformParams = Type.Object({ project: ProjectParams.properties.project, platform: Platform });
const AppVersionParams = Type.Object({ project: ProjectParams.properties.project, platform: AppVersionPlatform });
const SecretsList = Type.Object({ secrets: Type.Array(SecretInfo) });
/** Several iOS targets with their p12 and profile, base64: generous, still bounded. */
const CREDENTIALS_BODY_LIMIT = 16 * 1024 * 1024;

async function projectOf(ctx: ControllerContext, orgId: string, name: string): Promise<ProjectT> {
  const project = await ctx.store.getProjectByName(orgId, name);
  if (!project) {
    throw new ApiError('NOT_FOUND', `no project "${name}" in this org yet: setting a secret or credentials creates it, as its first build does`);
  }
  return project;
}

/**
 * Writes (secrets, credentials) create the project on first use, as a first build does: the
 * natural order — set the secret, then build — works. Reads of a project that does not exist yet
 * answer empty.
 */
function projectForWrite(ctx: ControllerContext, orgId: string, name: string): Promise<ProjectT> {
  return ctx.store.ensureProject(orgId, newId('prj'), name);
}

function asObject(summary: unknown): unknown {
  return typeof summary === 'string' ? (JSON.parse(summary) as unknown) : summary;
}

async function credentialsSummary(ctx: ControllerContext, orgId: string, projectId: string): Promise<CredentialsSummary> {
  const rows = await ctx.store.getProjectCredentials(orgId, projectId);
  const summary: CredentialsSummary = { android: null, ios: null, updatedAt: null };
  for (const row of rows) {
    if (row.platform === 'android') summary.android = asObject(row.summary) as CredentialsSummary['android'];
    if (row.platform === 'ios') summary.ios = asObject(row.summary) as CredentialsSummary['ios'];
    if (summary.updatedAt === null || row.updatedAt > summary.updatedAt) summary.updatedAt = row.updatedAt;
  }
  return summary;
}

export function registerProjectRoutes(app: App, ctx: ControllerContext): void {
  app.get('/v1/projects', { config: { access: 'read' }, schema: { tags: ['projects'], response: { 200: ProjectList } } }, async (request) => {
    return { projects: await ctx.store.listProjects(userOf(request).orgId) };
  });

  app.post(
    '/v1/projects',
    { config: { access: 'member', body: 'json' }, schema: { tags: ['projects'], body: CreateProjectRequest, response: { 201: Project } } },
    async (request, reply) => {
      const project = await ctx.store.createProject(userOf(request).orgId, newId('prj'), request.body.name);
      return reply.code(201).send(project);
    },
  );

  // ── credentials ─────────────────────────────────────────────────────────────

  app.get(
    '/v1/projects/:project/credentials',
    { config: { access: 'read' }, schema: { tags: ['projects'], params: ProjectParams, response: { 200: CredentialsSummary } } },
    async (request) => {
      const { orgId } = userOf(request);
      const project = await ctx.store.getProjectByName(orgId, request.params.project);
      return project ? credentialsSummary(ctx, orgId, project.id) : { android: null, ios: null, updatedAt: null };
    },
  );

  app.put(
    '/v1/projects/:project/credentials',
    {
      bodyLimit: CREDENTIALS_BODY_LIMIT,
      config: { access: 'member', body: 'json' },
      schema: { tags: ['projects'], params: ProjectParams, body: CredentialsBundle, response: { 200: CredentialsSummary } },
    },
    async (request) => {
      const { orgId } = userOf(request);
      const { android, ios } = request.body;
      if (!android && !ios) throw new ApiError('VALIDATION_FAILED', 'body: give android and/or ios credentials');
      const project = await projectForWrite(ctx, orgId, request.params.project);
      // Sealed as a one-platform bundle, so a build can take the bytes as they are.
      if (android) {
        await ctx.store.putProjectCredentials(orgId, project.id, 'android', ctx.keyring.sealJson({ android }), { keyAlias: android.keystore.keyAlias });
      }
      if (ios) {
        await ctx.store.putProjectCredentials(orgId, project.id, 'ios', ctx.keyring.sealJson({ ios }), { targets: Object.keys(ios.targets) });
      }
      const platforms = [...(android ? ['android'] : []), ...(ios ? ['ios'] : [])];
      await audit(ctx, request, { action: 'credentials.set', orgId, target: { type: 'project', id: project.id }, details: { project: project.name, platforms } });
      return credentialsSummary(ctx, orgId, project.id);
    },
  );

  app.delete(
    '/v1/projects/:project/credentials/:platform',
    { config: { access: 'member' }, schema: { tags: ['projects'], params: CredentialsPlatformParams, response: { 200: CredentialsSummary } } },
    async (request) => {
      const { orgId } = userOf(request);
      const project = await projectOf(ctx, orgId, request.params.project);
      await ctx.store.deleteProjectCredentials(orgId, project.id, request.params.platform);
      await audit(ctx, request, { action: 'credentials.delete', orgId, target: { type: 'project', id: project.id }, details: { project: project.name, platform: request.params.platform } });
      return credentialsSummary(ctx, orgId, project.id);
    },
  );

  // ── remote app versions (eas.json cli.appVersionSource: remote) ───────────────

  app.get(
    '/v1/projects/:project/app-versions/:platform',
    { config: { access: 'read' }, schema: { tags: ['projects'], params: AppVersionParams, response: { 200: AppVersion } } },
    async (request) => {
      const { orgId } = userOf(request);
      const project = await ctx.store.getProjectByName(orgId, request.params.project);
      const { platform } = request.params;
      return project ? ctx.store.getAppVersion(orgId, project.id, platform) : { platform, buildVersion: null, updatedAt: null };
    },
  );

  app.put(
    '/v1/projects/:project/app-versions/:platform',
    { config: { access: 'member', body: 'json' }, schema: { tags: ['projects'], params: AppVersionParams, body: SetAppVersionRequest, response: { 200: AppVersion } } },
    async (request) => {
      const { orgId } = userOf(request);
      const project = await projectForWrite(ctx, orgId, request.params.project);
      const version = await ctx.store.setAppVersion(orgId, project.id, request.params.platform, request.body.buildVersion);
      await audit(ctx, request, { action: 'app_version.set', orgId, target: { type: 'project', id: project.id }, details: { project: project.name, platform: request.params.platform, buildVersion: request.body.buildVersion } });
      return version;
    },
  );

  // ── secrets ─────────────────────────────────────────────────────────────────

  app.get(
    '/v1/projects/:project/secrets',
    { config: { access: 'read' }, schema: { tags: ['projects'], params: ProjectParams, response: { 200: SecretsList } } },
    async (request) => {
      const { orgId } = userOf(request);
      const project = await ctx.store.getProjectByName(orgId, request.params.project);
      return { secrets: project ? await ctx.store.listSecrets(orgId, project.id) : [] };
    },
  );

  app.put(
    '/v1/projects/:project/secrets/:name',
    {
      config: { access: 'member', body: 'json' },
      schema: { tags: ['projects'], params: SecretParams, querystring: SecretScope, body: SecretValue, response: { 200: SecretInfo } },
    },
    async (request) => {
      const { orgId } = userOf(request);
      const { environment } = request.query;
      const project = await projectForWrite(ctx, orgId, request.params.project);
      const info = await ctx.store.putSecret(orgId, project.id, request.params.name, sealSecret(ctx.keyring, request.body), environment);
      await audit(ctx, request, { action: 'secret.set', orgId, target: { type: 'project', id: project.id }, details: { project: project.name, name: request.params.name, ...(environment ? { environment } : {}) } });
      return info;
    },
  );

  app.delete(
    '/v1/projects/:project/secrets/:name',
    { config: { access: 'member' }, schema: { tags: ['projects'], params: SecretParams, querystring: SecretScope, response: { 200: Ok } } },
    async (request) => {
      const { orgId } = userOf(request);
      const { environment } = request.query;
      const project = await projectOf(ctx, orgId, request.params.project);
      if (!(await ctx.store.deleteSecret(orgId, project.id, request.params.name, environment))) {
        throw new ApiError('NOT_FOUND', environment ? `no secret of that name scoped to the environment "${environment}"` : 'no such unscoped secret (a scoped one is deleted with ?environment=NAME)');
      }
      await audit(ctx, request, { action: 'secret.delete', orgId, target: { type: 'project', id: project.id }, details: { project: project.name, name: request.params.name, ...(environment ? { environment } : {}) } });
      return { ok: true as const };
    },
  );
}
