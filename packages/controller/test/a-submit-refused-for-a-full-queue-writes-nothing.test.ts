/**
 * Attacker review: "bad input: 4xx, nothing half-written". A submit refused with 429 ORG_QUEUE_FULL
 * (BUILDMESH_ORG_MAX_QUEUED) still leaves a queue lane behind: create-build.ts records the lane
 * (ensureLane) before, and outside, the transaction that counts the queue. Lanes are never removed and
 * every shared-pool claim of every org reads every lane of its platform, so an org at its queue limit can
 * keep adding rows to what other orgs' claims read, each with a refused request. The same refusal also comes
 * after routes/builds.ts has created the submit's project (ensureProject) and taken the project's next remote
 * app build version (withAppVersion): a refused submit leaves a project and burns a versionCode, on SQLite too.
 * What must hold: a refused submit writes no row.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { ApiError } from '@buildmesh/protocol';
import { startControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, uploadedTinySource } from './helpers/fixtures.js';
import { createTestDatabase, pgSkip } from '../../../test/helpers/postgres.js';
import { DATABASE_FILE } from '../src/backup.js';

for (const store of ['sqlite', 'postgres'] as const) {
  test(`${store}: submits refused with ORG_QUEUE_FULL add no queue lane`, { timeout: 120_000, skip: store === 'postgres' ? pgSkip : false }, async (t) => {
    const db = store === 'postgres' ? await createTestDatabase() : undefined;
    if (db) t.after(() => db.drop());
    const env: Record<string, string> = db ? { BUILDMESH_DATABASE_URL: db.url, BUILDMESH_ENCRYPTION_KEY: randomBytes(32).toString('base64') } : {};
    const controller = await startControllerProcess({ env: { ...env, BUILDMESH_ORG_MAX_QUEUED: '1', BUILDMESH_LOG_LEVEL: 'warn' } });
    t.after(() => controller.dispose());
    const lanes = async (): Promise<number> => {
      if (db) {
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        try {
          return Number((await client.query('select count(*) as n from queue_lanes')).rows[0].n);
        } finally {
          await client.end();
        }
      }
      const file = new BetterSqlite3(join(controller.dataDir, DATABASE_FILE), { readonly: true });
      try {
        return (file.prepare('select count(*) as n from queue_lanes').get() as { n: number }).n;
      } finally {
        file.close();
      }
    };

    const beta = await createTenant(controller, 'beta');
    const blob = await uploadedTinySource(beta);
    await beta.member.createBuildFromBlob({ spec: buildSpec(), source: blob }); // the queue is now full
    const before = await lanes();
    const codes: string[] = [];
    for (let i = 0; i < 20; i++) {
      await beta.member.createBuildFromBlob({ spec: buildSpec({ labels: { nonce: `n${i}` } }), source: blob }).then(
        () => codes.push('queued'),
        (err: unknown) => codes.push(err instanceof ApiError ? err.code : String(err)),
      );
    }
    assert.deepEqual([...new Set(codes)], ['ORG_QUEUE_FULL'], 'every further submit is refused');
    assert.equal(await lanes(), before, `20 refused submits left ${(await lanes()) - before} queue lanes behind`);
  });

  test(`${store}: a submit refused with ORG_QUEUE_FULL creates no project and takes no app build version`, { timeout: 120_000, skip: store === 'postgres' ? pgSkip : false }, async (t) => {
    const db = store === 'postgres' ? await createTestDatabase() : undefined;
    if (db) t.after(() => db.drop());
    const env: Record<string, string> = db ? { BUILDMESH_DATABASE_URL: db.url, BUILDMESH_ENCRYPTION_KEY: randomBytes(32).toString('base64') } : {};
    const controller = await startControllerProcess({ env: { ...env, BUILDMESH_ORG_MAX_QUEUED: '1', BUILDMESH_LOG_LEVEL: 'warn' } });
    t.after(() => controller.dispose());
    const beta = await createTenant(controller, 'beta');
    const blob = await uploadedTinySource(beta);
    const remote = { name: 'production', env: {}, appVersionSource: 'remote' as const, autoIncrement: true };
    await beta.member.createBuildFromBlob({ spec: buildSpec({ profile: remote }), source: blob }); // the queue is now full
    const version = await beta.member.getAppVersion('app', 'android');
    for (const project of ['app', 'never-queued']) {
      await assert.rejects(beta.member.createBuildFromBlob({ spec: buildSpec({ project, profile: remote }), source: blob }), (err: unknown) => err instanceof ApiError && err.code === 'ORG_QUEUE_FULL');
    }
    const names = (await beta.member.listProjects()).projects.map((p) => p.name);
    const after = await beta.member.getAppVersion('app', 'android');
    assert.deepEqual({ buildVersion: after.buildVersion, projects: names }, { buildVersion: version.buildVersion, projects: ['app'] }, 'a refused submit took no build version and created no project');
  });
}
