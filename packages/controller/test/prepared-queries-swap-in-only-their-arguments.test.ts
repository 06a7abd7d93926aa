/**
 * prepared.ts: a query compiled once answers each call with that call's arguments, keeps the
 * query's own constants, and refuses a builder that does not pass an argument through whole
 * (the stand-in would otherwise end up inside a concatenated value).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openSqliteStore } from '../src/store/sqlite.js';
import { prepared } from '../src/store/prepared.js';
import type { KyselyStore } from '../src/store/kysely-store.js';

test('a prepared query answers each call with its own arguments and keeps its constants', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'buildmesh-prepared-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = (await openSqliteStore(join(dir, 'controller.db'))) as KyselyStore;
  t.after(() => store.close());
  for (const name of ['alpha', 'beta', 'gamma']) await store.createOrg({ id: `org_${name}`, name });

  const byIdAndName = prepared(2, (db, id: string, name: string) =>
    db.selectFrom('orgs').select(['id', 'name']).where('id', '=', id).where('name', '=', name).where('name', '!=', 'gamma'),
  );
  assert.deepEqual((await byIdAndName(store.db, 'org_alpha', 'alpha')).rows, [{ id: 'org_alpha', name: 'alpha' }]);
  assert.deepEqual((await byIdAndName(store.db, 'org_beta', 'beta')).rows, [{ id: 'org_beta', name: 'beta' }]);
  assert.deepEqual((await byIdAndName(store.db, 'org_alpha', 'beta')).rows, [], 'both arguments are applied, in their places');
  assert.deepEqual((await byIdAndName(store.db, 'org_gamma', 'gamma')).rows, [], "the query's own constant still holds");

  const concatenated = prepared(1, (db, name: string) => db.selectFrom('orgs').select('id').where('name', 'like', `%${name}%`));
  await assert.rejects(concatenated(store.db, 'alpha'), /must use each of its 1 arguments as a parameter/);
});
