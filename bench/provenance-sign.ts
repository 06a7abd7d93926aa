/**
 * provenance_sign_ms: building one artifact's in-toto statement from its facts and signing it
 * (DSSE, Ed25519) — the work the controller adds per artifact, hashing excluded (upload did it).
 * In-process, with the key already opened, as the controller holds it between requests.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { Artifact, Attempt, Build } from '@buildmesh/protocol';
import { keyIdOf } from '../packages/controller/src/provenance/signing-keys.js';
import { provenanceStatement, signStatement } from '../packages/controller/src/provenance/statement.js';

export function benchProvenanceSign(rounds = 2000): Record<string, number> {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const key = { keyid: keyIdOf(publicKey), privateKey };
  const now = new Date().toISOString();
  const sha = 'a'.repeat(64);
  const build = {
    id: 'bld_01jb7x6k2m3n4p5q6r7s8t9v0w',
    project: 'app',
    platform: 'android',
    profileName: 'production',
    labels: { xcode: '16.2' },
    source: { sha256: sha, size: 1234 },
    gitCommit: '0123456789abcdef0123456789abcdef01234567',
    profile: { name: 'production', env: { APP_ENV: 'production' }, distribution: 'store' },
  } as unknown as Build;
  const attempt = { id: 'att_01jb7x6k2m3n4p5q6r7s8t9v0w', number: 1, workerId: 'wrk_01jb7x6k2m3n4p5q6r7s8t9v0w', workerName: 'mac-1', startedAt: now, finishedAt: now } as Attempt;
  const artifact = { id: 'art_01jb7x6k2m3n4p5q6r7s8t9v0w', name: 'app.aab', sha256: sha, createdAt: now } as Artifact;
  const worker = { id: attempt.workerId, name: 'mac-1', labels: { xcode: '16.2' }, toolchains: { node: '20.19.0', java: '17', gradle: '8.10' }, version: '0.1.0' };
  const once = () => signStatement(provenanceStatement({ orgId: 'org_01jb7x6k2m3n4p5q6r7s8t9v0w', build, attempt, artifact, worker }), key);
  for (let i = 0; i < 100; i++) once();
  const start = performance.now();
  for (let i = 0; i < rounds; i++) once();
  return { provenance_sign_ms: (performance.now() - start) / rounds };
}
