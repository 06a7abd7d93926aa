/**
 * Attacker review: `--json` is to write DEL, C1 controls, bidi marks and overrides and U+2028/2029 as \u
 * escapes "as everywhere in --json" (README; output.ts jsonText), so text another org chose cannot reorder or
 * act on the terminal or log of whoever reads it. `admin audit --json` streams its entries with a bare
 * JSON.stringify (commands/admin/audit.ts) and writes them raw. A worker names itself (capabilities.name is
 * any text but NUL, up to 128 characters) and the `worker.enroll` entry's details carry it: the instance
 * admin's `buildmesh admin audit --json` prints another org's right-to-left override, line separator and
 * C1 CSI as they are.
 * What must hold: the output holds none of those characters raw, and parses back to the same names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEntry } from '@buildmesh/protocol';
import { runCli } from './helpers/cli.js';
import { startTestController } from '../../../test/helpers/controller.js';

const RAW = /[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

test("admin audit --json escapes the bidi and control characters of another org's names", { timeout: 120_000 }, async (t) => {
  const controller = await startTestController(t);
  const org = await controller.admin.createOrg('mallory');
  const admin = await controller.admin.createToken({ name: 'mallory-admin', role: 'admin', orgId: org.id });
  const hostile = 'ci\u202eexe.gnp\u2028\x9b2J';
  const mallory = controller.admin.withToken(admin.secret);
  const enrollment = await mallory.createEnrollmentToken('e1');
  await mallory.withToken(enrollment.secret).enroll({ name: hostile, platforms: ['web'], labels: {}, concurrency: 1, version: 'test' });

  const instance = { BUILDMESH_URL: controller.url, BUILDMESH_TOKEN: controller.adminToken };
  const result = await runCli(['admin', 'audit', '--json'], { env: instance });
  assert.equal(result.code, 0, result.stderr);
  const { entries } = JSON.parse(result.stdout) as { entries: AuditEntry[] };
  assert.ok(entries.some((e) => (e.details as { name?: string }).name === hostile), 'the token name is there, whole');
  assert.doesNotMatch(result.stdout, RAW, 'no bidi override, line separator or C1 control is printed raw');
});
