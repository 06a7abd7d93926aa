/**
 * A submit sent again with the same Idempotency-Key (the CLI does after a lost response) returns
 * the first build and queues nothing new: sequentially, racing, and after a kill -9 of the
 * controller. Keys are per org; a malformed key is refused with nothing stored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ApiError, IDEMPOTENCY_KEY_HEADER } from '@buildmesh/protocol';
import { startControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, streamOf, tinyTarGz } from './helpers/fixtures.js';

void test('a repeated idempotency key returns the first build, per org, across a controller kill -9', async (t) => {
  const controller = await startControllerProcess();
  t.after(() => controller.dispose());
  const acme = await createTenant(controller, 'acme');
  const other = await createTenant(controller, 'other');
  const source = await tinyTarGz();
  const submit = (client = acme.member, key?: string) => client.createBuild(buildSpec(), streamOf(source), key ? { idempotencyKey: key } : {});

  // Sequential repeat: the same build, nothing else queued.
  const key = randomUUID();
  const first = await submit(acme.member, key);
  const again = await submit(acme.member, key);
  assert.equal(again.id, first.id);
  assert.equal((await acme.member.listBuilds()).builds.length, 1);

  // The answer says which it was: 201 created, 200 the first one again.
  const form = new FormData();
  form.append('spec', JSON.stringify(buildSpec()));
  form.append('source', new Blob([new Uint8Array(source)]), 'source.tar.gz');
  const raw = await fetch(`${controller.url}/v1/builds`, {
    method: 'POST',
    headers: { authorization: `Bearer ${acme.tokens.member}`, [IDEMPOTENCY_KEY_HEADER]: key },
    body: form,
  });
  assert.equal(raw.status, 200);
  assert.equal(((await raw.json()) as { id: string }).id, first.id);

  // Racing repeats of a new key: one build.
  const racing = randomUUID();
  const ids = new Set((await Promise.all([1, 2, 3, 4].map(() => submit(acme.member, racing)))).map((b) => b.id));
  assert.equal(ids.size, 1);
  assert.equal((await acme.member.listBuilds()).builds.length, 2);

  // Keys belong to an org: another org's submit with the same key is its own build.
  const theirs = await submit(other.member, key);
  assert.notEqual(theirs.id, first.id);

  // Without a key every submit is a new build.
  await submit();
  await submit();
  assert.equal((await acme.member.listBuilds()).builds.length, 4);

  // Durable: after kill -9 the key still finds the first build.
  await controller.kill('SIGKILL');
  await controller.restart();
  assert.equal((await submit(acme.member, key)).id, first.id);
  assert.equal((await acme.member.listBuilds()).builds.length, 4);

  // A malformed key is refused, nothing stored.
  for (const bad of ['short', 'has space in it 0123456789', 'x'.repeat(129)]) {
    const err = await submit(acme.member, bad).catch((e: unknown) => e);
    assert.ok(err instanceof ApiError && err.code === 'VALIDATION_FAILED', `${bad}: ${String(err)}`);
  }
  assert.equal((await acme.member.listBuilds()).builds.length, 4);
});
