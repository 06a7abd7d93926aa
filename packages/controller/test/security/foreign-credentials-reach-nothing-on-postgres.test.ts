/**
 * The route × tenant × role matrix (helpers/tenant-matrix.ts) against a controller on PostgreSQL:
 * another org's admin, member, read-only and worker credentials reach nothing of this org there
 * either, and alpha's rows (read from PostgreSQL) stay exactly as they were.
 */
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { createTestDatabase, pgSkip } from '../../../../test/helpers/postgres.js';
import { runTenantMatrix } from './helpers/tenant-matrix.js';
import { buildWorld } from './helpers/world.js';

test('on PostgreSQL, another org’s credentials reach nothing of this org', { skip: pgSkip, timeout: 180_000 }, async (t) => {
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const world = await buildWorld({ BUILDMESH_DATABASE_URL: database.url, BUILDMESH_ENCRYPTION_KEY: randomBytes(32).toString('base64') });
  await runTenantMatrix(world);
});
