/**
 * Attacker review (follow-up of on-postgres-a-claim-reads-the-queue-not-the-orgs-history): migration 0025's
 * partial index serves the one-statement org claim, whose SQL says `status = 'queued'`. The shared pool's
 * claim (and an org claim when a build.started webhook exists) probes each lane's head with the prepared
 * `laneHead` statement of claim.ts, a NAMED statement whose status was a parameter ($1). After five runs on
 * a connection PostgreSQL's plan cache may switch to a generic plan, which cannot use the partial index
 * (`status = $1` does not prove `status = 'queued'`); with statistics taken while the table was small it
 * plans the head on builds_org_finished and reads and sorts the org's whole history, per lane, per claim.
 * Every shared-pool claim probes every org's lanes, so one org with a long history (submit and cancel in
 * a loop) slows every other org's shared claims. What must hold: the statement a shared claim runs (compiled
 * from claim.ts here), as its connection has it after repeated use, reads a handful of buffers, not the
 * org's history.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newId } from '../src/ids.js';
import { laneHeadQuery } from '../src/store/queries/claim.js';
import { pgSkip } from '../../../test/helpers/postgres.js';
import { addHistoryUnknownToStatistics, postgresStoreForFile } from './helpers/postgres-store.js';
import { newWebBuild } from './helpers/store-records.js';

const db = postgresStoreForFile();

/** claim.ts laneHead as the store compiles it for PostgreSQL, its parameters as pg numbers them. */
function laneHeadStatement(): { sql: string; constants: unknown[] } {
  const compiled = laneHeadQuery(db.store.db, 'ORG', 'PLATFORM', 'LABELS').compile();
  return { sql: compiled.sql, constants: [...compiled.parameters] };
}

test('a shared claim’s lane-head probe on PostgreSQL reads the queue, not the org’s history, after repeated use', { skip: pgSkip }, async () => {
  const orgId = (await db.store.createOrg({ id: newId('org'), name: 'history' })).id;
  const projectId = (await db.store.ensureProject(orgId, newId('prj'), 'app')).id;
  const submit = () => db.store.createBuild(newWebBuild(orgId, projectId));
  const template = await submit();
  await addHistoryUnknownToStatistics(db, template.id, 20000);
  const queued = await submit();
  const { label_key: labelKey } = (await db.sql.query<{ label_key: string }>('select label_key from builds where id = $1', [queued.id])).rows[0]!;

  // As pg runs a named statement: prepared once per connection, then executed again and again.
  const statement = laneHeadStatement();
  const types = statement.constants.map((c) => (typeof c === 'number' ? 'bigint' : 'text'));
  await db.sql.query(`prepare lane_head(${types.join(', ')}) as ${statement.sql}`);
  const values: Record<string, string> = { ORG: orgId, PLATFORM: 'web', LABELS: labelKey };
  const args = statement.constants.map((c) => (typeof c === 'number' ? String(c) : `'${values[c as string] ?? (c as string)}'`)).join(', ');
  for (let i = 0; i < 8; i++) {
    await db.sql.query('begin');
    assert.equal((await db.sql.query<{ id: string }>(`execute lane_head(${args})`)).rows[0]?.id, queued.id);
    await db.sql.query('rollback');
  }
  await db.sql.query('begin');
  const plan = (await db.sql.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers, costs off, timing off) execute lane_head(${args})`)).rows.map((r) => r['QUERY PLAN']);
  await db.sql.query('rollback');
  const text = plan.join('\n');
  const buffers = Math.max(...plan.map((l) => Number(/Buffers: shared hit=(\d+)/.exec(l)?.[1] ?? 0)));
  assert.ok(buffers < 200, `the lane-head probe read ${buffers} buffers:\n${text}`);
});
