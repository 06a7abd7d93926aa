/** `buildmesh admin audit` against a real controller: the org's entries (JSON and table), --since, and its refusal of a bad --since. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEntry } from '@buildmesh/protocol';
import { runCli, runJson } from './helpers/cli.js';
import { startTestController } from '../../../test/helpers/controller.js';

test('admin audit shows who did what, filtered to the org and by --since', { timeout: 120_000 }, async (t) => {
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
  const bad = await runCli(['admin', 'audit', '--since', 'yesterday-ish'], { env });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /INVALID_SINCE/);
});
