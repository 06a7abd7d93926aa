/**
 * The world the security suite attacks: a victim org (alpha) with a project, a secret, signing
 * credentials, a running build whose attempt has logs and an artifact, tokens, an enrollment token
 * and workers; and a foreign org (beta) with tokens of every role and a worker holding its own
 * attempt. `snapshot()` reads the controller's SQLite file directly (read-only, beside the live
 * process: WAL allows it), or its PostgreSQL database when the world runs on one, so a test can
 * prove that nothing changed.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { startControllerProcess, type ControllerProcess } from '../../helpers/controller-process.js';
import { buildSpec, createTenant, enrollWorker, streamOf, tinyTarGz, type Tenant, type TestWorker } from '../../helpers/fixtures.js';
import { listFiles } from '../../helpers/data-dir.js';
import type { Param } from './openapi.js';
import { snapshotPostgres } from './pg-snapshot.js';

export const ALPHA_PROJECT = 'alpha-secret-project';
export const ALPHA_SECRET_NAME = 'ALPHA_SECRET_NAME';
export const ALPHA_SECRET_VALUE = 'alpha-secret-value-7f3a';
export const ALPHA_WORKER_NAME = 'alpha-worker-name';

export interface World {
  controller: ControllerProcess;
  alpha: Tenant;
  beta: Tenant;
  alphaWorker: TestWorker;
  /** A second alpha worker, the target of DELETE /v1/workers/{id}. */
  alphaVictimWorker: TestWorker;
  betaWorker: TestWorker;
  /** alpha's enrollment token (for routes that take one). */
  enrollmentSecret: string;
  ids: { org: string; build: string; attempt: string; artifact: string; token: string; enrollmentToken: string; worker: string; project: string };
  /** Strings that must never appear in an answer to another org's credential. */
  alphaMarkers: string[];
}

/** Long leases (no heartbeats needed while the suite runs), short claim long-polls. */
const SUITE_TIMINGS = { BUILDMESH_LEASE_TTL_MS: '600000', BUILDMESH_CLAIM_WAIT_MS: '100', BUILDMESH_SWEEP_INTERVAL_MS: '1000' };

/** Controllers of worlds running on PostgreSQL, with their database URL (snapshot() reads it there). */
const postgresWorlds = new WeakMap<ControllerProcess, string>();

export async function buildWorld(env: Record<string, string> = {}): Promise<World> {
  const controller = await startControllerProcess({ env: { ...SUITE_TIMINGS, ...env } });
  if (env.BUILDMESH_DATABASE_URL) postgresWorlds.set(controller, env.BUILDMESH_DATABASE_URL);
  const alpha = await createTenant(controller, 'alpha');
  const beta = await createTenant(controller, 'beta');

  await alpha.member.createProject(ALPHA_PROJECT);
  await alpha.member.setSecret(ALPHA_PROJECT, ALPHA_SECRET_NAME, ALPHA_SECRET_VALUE);
  await alpha.member.putCredentials(ALPHA_PROJECT, { android: { keystore: { keystoreBase64: 'AAAA', keystorePassword: 'alpha-keystore-pw', keyAlias: 'alpha-key' } } });
  const alphaWorker = await enrollWorker(alpha.admin, { name: ALPHA_WORKER_NAME });
  const alphaVictimWorker = await enrollWorker(alpha.admin, { name: 'alpha-victim-worker', platforms: ['ios'] });
  const build = await alpha.member.createBuild(buildSpec({ project: ALPHA_PROJECT, message: 'alpha build message' }), streamOf(await tinyTarGz('alpha')));
  const job = await alphaWorker.client.claim(2000);
  if (job?.build.id !== build.id) throw new Error('the alpha worker did not get the alpha build');
  const attempt = job.attempt.id;
  await alphaWorker.client.sendLogs(attempt, { seq: 1, lines: [{ t: Date.now(), stream: 'stdout', text: 'alpha log line' }] });
  const bytes = Buffer.from('alpha artifact bytes');
  const artifact = await alphaWorker.client.uploadArtifact(attempt, {
    name: 'app.apk',
    kind: 'application-archive',
    size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    stream: Readable.from([bytes]),
  });
  const enrollmentToken = await alpha.admin.createEnrollmentToken('alpha-rack');
  const readerToken = (await alpha.reader.whoami()).token;

  const betaWorker = await enrollWorker(beta.admin, { name: 'beta-worker' });
  await beta.member.createBuild(buildSpec({ project: 'beta-app' }), streamOf(await tinyTarGz('beta')));
  if (!(await betaWorker.client.claim(2000))) throw new Error('the beta worker did not get the beta build');

  const ids = {
    org: alpha.org.id,
    build: build.id,
    attempt,
    artifact: artifact.id,
    token: readerToken.id,
    enrollmentToken: enrollmentToken.enrollmentToken.id,
    worker: alphaVictimWorker.workerId,
    project: ALPHA_PROJECT,
  };
  const alphaMarkers = [
    ...Object.values(ids),
    // Ids beta never names: if they show up, alpha's rows did (an audit entry, a list).
    (await alpha.admin.whoami()).token.id,
    (await alpha.member.whoami()).token.id,
    ALPHA_SECRET_NAME,
    ALPHA_SECRET_VALUE,
    ALPHA_WORKER_NAME,
    'alpha-keystore-pw',
    'alpha-key',
    'alpha build message',
    'alpha log line',
    alphaWorker.workerId,
    alpha.tokens.admin,
    alpha.tokens.member,
    alphaWorker.credential,
    enrollmentToken.secret,
  ];
  return { controller, alpha, beta, alphaWorker, alphaVictimWorker, betaWorker, enrollmentSecret: enrollmentToken.secret, ids, alphaMarkers };
}

/** The value of a path or query parameter that names one of alpha's resources. */
export function alphaValueFor(world: World, param: Param): string | undefined {
  const pattern = param.schema.pattern ?? '';
  const byPrefix: Record<string, string> = {
    bld_: world.ids.build,
    att_: world.ids.attempt,
    art_: world.ids.artifact,
    tok_: world.ids.token,
    enr_: world.ids.enrollmentToken,
    wrk_: world.ids.worker,
    org_: world.ids.org,
  };
  for (const [prefix, value] of Object.entries(byPrefix)) if (pattern.includes(`^${prefix}`)) return value;
  if (param.name === 'project') return world.ids.project;
  if (param.name === 'platform') return 'android';
  if (param.name === 'name' && (!pattern || new RegExp(pattern, 'u').test(ALPHA_SECRET_NAME))) return ALPHA_SECRET_NAME;
  return undefined;
}

const VOLATILE = new Set(['last_seen_at', 'last_used_at']);

/**
 * Every row of every table (volatile "last seen" columns left out), plus the blob and temp files:
 * equal snapshots mean nothing was written. `orgId` narrows it to one org's rows.
 */
export async function snapshot(controller: ControllerProcess, orgId?: string): Promise<string> {
  const databaseUrl = postgresWorlds.get(controller);
  if (databaseUrl) return snapshotPostgres(databaseUrl, controller.dataDir, orgId, VOLATILE);
  const db = new Database(join(controller.dataDir, 'controller.db'), { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like 'buildmesh_migrations%' order by name`).all() as Array<{ name: string }>;
    const out: Record<string, unknown[]> = {};
    let builds: string[] | undefined;
    if (orgId) builds = (db.prepare('select id from builds where org_id = ?').all(orgId) as Array<{ id: string }>).map((r) => r.id);
    for (const { name } of tables) {
      const columns = (db.prepare(`select name from pragma_table_info(?)`).all(name) as Array<{ name: string }>).map((c) => c.name);
      const kept = columns.filter((c) => !VOLATILE.has(c));
      let sql = `select ${kept.map((c) => `"${c}"`).join(', ')} from "${name}"`;
      const args: unknown[] = [];
      if (orgId) {
        if (columns.includes('org_id')) {
          sql += ' where org_id = ?';
          args.push(orgId);
        } else if (columns.includes('build_id')) {
          sql += ` where build_id in (${builds!.map(() => '?').join(',') || "''"})`;
          args.push(...builds!);
        } else if (name !== 'orgs') continue;
        else {
          sql += ' where id = ?';
          args.push(orgId);
        }
      }
      out[name] = db.prepare(`${sql} order by 1`).raw(true).all(...args).map((row) => (row as unknown[]).map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : v)));
    }
    if (!orgId) out.files = await listFiles(join(controller.dataDir, 'blobs')).catch(() => []);
    return JSON.stringify(out);
  } finally {
    db.close();
  }
}
