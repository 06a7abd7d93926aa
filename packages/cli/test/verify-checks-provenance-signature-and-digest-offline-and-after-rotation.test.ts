/**
 * Signed provenance end to end: a real build's artifact verifies online (statement and keys fetched)
 * and offline (saved envelope + exported key, no controller); a flipped byte in the artifact or in
 * the statement fails; after a key rotation the old statement verifies with the old key, the new
 * one with the new key, and not with the old.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DsseEnvelope, ProvenanceKeyList, ProvenanceStatement } from '@buildmesh/protocol';
import { runCli, runJson } from './helpers/cli.js';
import { makeFixtureProject } from './helpers/fixture-project.js';
import { freePort, startMesh } from './helpers/mesh.js';

interface BuildJson {
  builds: Array<{ build: { id: string }; artifacts: Array<{ path: string; sha256: string }> }>;
}
interface VerifyJson {
  ok: boolean;
  keyid: string;
  sha256: string;
  statement: ProvenanceStatement;
  envelope: DsseEnvelope;
}

void test('verify checks a real artifact\'s signed provenance online and offline, catches flipped bytes, and survives key rotation', async (t) => {
  const mesh = await startMesh(t, { worker: true });
  const project = makeFixtureProject(t);
  const dir = mesh.root;
  const build = async (name: string) => {
    const result = await runCli(['build', project, '--platform', 'web', '--profile', 'test', '--output', join(dir, name), '--json'], { env: mesh.env, timeoutMs: 120_000 });
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as BuildJson;
    return { id: report.builds[0]!.build.id, path: report.builds[0]!.artifacts[0]!.path, sha256: report.builds[0]!.artifacts[0]!.sha256 };
  };
  const first = await build('first');

  // Online: the statement and the keys come from the controller.
  const online = await runJson<VerifyJson>(['verify', first.path, '--build', first.id, '--json'], { env: mesh.env });
  assert.equal(online.ok, true);
  assert.equal(online.sha256, first.sha256);
  const statement = online.statement;
  assert.equal(statement._type, 'https://in-toto.io/Statement/v1');
  assert.equal(statement.predicateType, 'https://slsa.dev/provenance/v1');
  assert.deepEqual(statement.subject, [{ name: 'app.txt', digest: { sha256: first.sha256 } }]);
  const def = statement.predicate.buildDefinition;
  assert.equal(def.internalParameters.buildId, first.id);
  assert.equal(def.externalParameters.platform, 'web');
  assert.equal((def.externalParameters.profile as { name: string }).name, 'test');
  assert.match(def.resolvedDependencies[0]!.digest.sha256!, /^[0-9a-f]{64}$/);
  assert.match(statement.predicate.runDetails.builder.id, /^buildmesh:worker\/wrk_/);
  assert.ok(statement.predicate.runDetails.builder.version.node, 'toolchain versions are named');
  assert.ok(Date.parse(statement.predicate.runDetails.metadata.finishedOn) >= Date.parse(statement.predicate.runDetails.metadata.startedOn));
  const table = await runCli(['verify', first.path, '--build', first.id], { env: mesh.env });
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /signature valid .*sha256 matches/);

  // The statement is issued once: asked again, the same envelope.
  const again = await runJson<VerifyJson>(['verify', first.path, '--build', first.id, '--json'], { env: mesh.env });
  assert.deepEqual(again.envelope, online.envelope);

  // Offline: the saved envelope and the exported key, with no controller reachable.
  const envelopeFile = join(dir, 'first.intoto.json');
  writeFileSync(envelopeFile, JSON.stringify(online.envelope));
  const oldKey = join(dir, 'old.pem');
  const exported = await runCli(['admin', 'provenance-key', 'export', '--current'], { env: mesh.env });
  writeFileSync(oldKey, exported.stdout);
  const offlineEnv = { ...mesh.env, BUILDMESH_URL: `http://127.0.0.1:${await freePort()}` };
  const offline = await runCli(['verify', first.path, '--statement', envelopeFile, '--key', oldKey], { env: offlineEnv });
  assert.equal(offline.code, 0, offline.stderr);

  // A flipped byte in the artifact, offline and online.
  const tampered = join(dir, 'tampered.txt');
  copyFileSync(first.path, tampered);
  const bytes = readFileSync(tampered);
  bytes[0] = bytes[0]! ^ 1;
  writeFileSync(tampered, bytes);
  for (const args of [['--statement', envelopeFile, '--key', oldKey], ['--build', first.id]]) {
    const r = await runCli(['verify', tampered, ...args], { env: args[0] === '--build' ? mesh.env : offlineEnv });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /PROVENANCE_DIGEST_MISMATCH/);
  }
  // A flipped byte in the statement.
  const payload = Buffer.from(online.envelope.payload, 'base64');
  payload[payload.indexOf('web')] = 'W'.charCodeAt(0);
  const forgedFile = join(dir, 'forged.intoto.json');
  writeFileSync(forgedFile, JSON.stringify({ ...online.envelope, payload: payload.toString('base64') }));
  const forged = await runCli(['verify', first.path, '--statement', forgedFile, '--key', oldKey], { env: offlineEnv });
  assert.notEqual(forged.code, 0);
  assert.match(forged.stderr, /PROVENANCE_SIGNATURE_INVALID/);

  // Rotation: new statements are signed with the new key; the old one still verifies with the old key.
  const rotated = await runJson<{ keyid: string }>(['admin', 'provenance-key', 'rotate', '--json'], { env: mesh.env });
  assert.notEqual(rotated.keyid, online.keyid);
  const published = await runJson<ProvenanceKeyList>(['admin', 'provenance-key', 'export'], { env: mesh.env });
  assert.deepEqual(published.keys.map((k) => [k.keyid, k.retiredAt === null]), [[online.keyid, false], [rotated.keyid, true]]);
  const second = await build('second');
  const newer = await runJson<VerifyJson>(['verify', second.path, '--build', second.id, '--json'], { env: mesh.env });
  assert.equal(newer.keyid, rotated.keyid);
  const newKey = join(dir, 'new.pem');
  writeFileSync(newKey, published.keys[1]!.publicKeyPem);
  const newerFile = join(dir, 'second.intoto.json');
  writeFileSync(newerFile, JSON.stringify(newer.envelope));
  assert.equal((await runCli(['verify', second.path, '--statement', newerFile, '--key', newKey], { env: offlineEnv })).code, 0);
  assert.equal((await runCli(['verify', first.path, '--statement', envelopeFile, '--key', oldKey], { env: offlineEnv })).code, 0);
  const wrongKey = await runCli(['verify', second.path, '--statement', newerFile, '--key', oldKey], { env: offlineEnv });
  assert.match(wrongKey.stderr, /PROVENANCE_SIGNATURE_INVALID/);
  // The old build's stored statement is unchanged, and verifies online against the published (both) keys.
  assert.equal((await runJson<VerifyJson>(['verify', first.path, '--build', first.id, '--json'], { env: mesh.env })).keyid, online.keyid);
  const docFile = join(dir, 'keys.json');
  writeFileSync(docFile, JSON.stringify(published));
  assert.equal((await runCli(['verify', first.path, '--statement', envelopeFile, '--key', docFile], { env: offlineEnv })).code, 0);
});
