/** `buildmesh admin audit` against a real controller: the org's entries (JSON and table), --since, and its refusal of a bad --since. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEntry } from '@buildmesh/protocol';
import { runCli, runJson } from './helpers/cli.js';
import { startTestController } from '../../../test/helpers/controller.js';

test('admin audit shows who did what, filtered to the org and by --since; admin rotate-key re-seals and is audited', { timeout: 120_000 }, async (t) => {
  const controller = await startTestController(t);
  const org = await controller.admin.createOrg('acme');
  const admin = await controller.admin.createToken({ name: 'acme-admin', role: 'admin', orgId: org.id });
  const env = { BUILDMESH_URL: controller.url, BUILDMESH_TOKEN: admin.secret };
  await runJson(['admin', 'token', 'create', 'ci', '--role', 'member', '--json'], { env });

  const { entries } = await runJson<{ entries: AuditEntry[] }>(['admin', 'audit', '--json'], { env });
  assert.deepEqual(entries.map((e) => e.action), ['org.create', 'token.create', 'token.create']);
  assert.ok(entries.every((e) => e.orgId === org.id));
  assert.equal(entries[2]!.actorName, 'acme-admin');
  assert.deepEqual(entries[2]!.details, { name: 'ci', role: 'member' });

  const later = await runJson<{ entries: AuditEntry[] }>(['admin', 'audit', '--since', entries[2]!.createdAt, '--json'], { env });
  assert.deepEqual(later.entries.map((e) => e.id), entries.filter((e) => e.createdAt >= entries[2]!.createdAt).map((e) => e.id));
  assert.equal((await runJson<{ entries: AuditEntry[] }>(['admin', 'audit', '--since', '1h', '--json'], { env })).entries.length, 3);

  const table = await runCli(['admin', 'audit'], { env });
  assert.equal(table.code, 0);
  assert.match(table.stdout, /acme-admin \(token tok_\w+\)\s+token\.create\s+token tok_/);
  // rotate-key (instance admin) re-seals and is audited.
  const instance = { BUILDMESH_URL: controller.url, BUILDMESH_TOKEN: controller.adminToken };
  const rotated = await runJson<{ version: number; resealed: Record<string, number> }>(['admin', 'rotate-key', '--json'], { env: instance });
  assert.equal(rotated.version, 2);
  assert.equal(rotated.resealed.instance_meta, 1);
  assert.match((await runCli(['admin', 'rotate-key'], { env: instance })).stdout, /rotated to version 3/);
  const all = await runJson<{ entries: AuditEntry[] }>(['admin', 'audit', '--json'], { env: instance });
  assert.equal(all.entries.filter((e) => e.action === 'encryption_key.rotate').length, 2);
  assert.notEqual((await runCli(['admin', 'rotate-key'], { env })).code, 0, 'an org admin may not');
  const bad = await runCli(['admin', 'audit', '--since', 'yesterday-ish'], { env });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /INVALID_SINCE/);
});
