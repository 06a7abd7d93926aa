/**
 * A log read's attempt and cursor are request values that reach integer columns: on PostgreSQL (32-bit
 * integers) a value past 2,147,483,647 made the query fail, answered 500 INTERNAL and logged as a server
 * failure. Such values are refused 400 before any query, in both formats, on both stores.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startControllerProcess, type ControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, streamOf, tinyTarGz } from './helpers/fixtures.js';
import { createTestDatabase, pgSkip, type TestDatabase } from '../../../test/helpers/postgres.js';

let database: TestDatabase | undefined;
let controller: ControllerProcess | undefined;
after(async () => {
  await controller?.dispose();
  await database?.drop();
});

test('on PostgreSQL an out-of-range attempt or cursor is 400, never 500', { skip: pgSkip, timeout: 120_000 }, async () => {
  database = await createTestDatabase();
  controller = await startControllerProcess({ env: { BUILDMESH_DATABASE_URL: database.url, BUILDMESH_ENCRYPTION_KEY: randomBytes(32).toString('base64') } });
  const tenant = await createTenant(controller, 'acme');
  const build = await tenant.member.createBuild(buildSpec(), streamOf(await tinyTarGz()));
  const get = (query: string) => fetch(`${controller!.url}/v1/builds/${build.id}/logs?${query}`, { headers: { authorization: `Bearer ${tenant.tokens.reader}` } });

  for (const format of ['entries', 'batches']) {
    for (const [query, code] of [
      ['attempt=99999999999', 'VALIDATION_FAILED'],
      ['attempt=2147483648', 'VALIDATION_FAILED'],
      ['cursor=l2.1.999999999999.0', 'INVALID_CURSOR'],
      ['cursor=l2.99999.2147483648.0', 'INVALID_CURSOR'],
      ['cursor=l1.1.2147483647', 'INVALID_CURSOR'],
    ]) {
      const res = await get(`format=${format}&${query}`);
      const body = (await res.json()) as { error?: { code?: string } };
      assert.equal(res.status, 400, `${format} ${query}: ${JSON.stringify(body)}`);
      assert.equal(body.error?.code, code, `${format} ${query}`);
    }
    // The largest values are read (nothing there), not refused.
    for (const query of ['attempt=2147483647', 'cursor=l2.999999.2147483647.999999']) {
      const res = await get(`format=${format}&${query}`);
      assert.equal(res.status, 200, `${format} ${query}: ${await res.text()}`);
    }
  }
});
