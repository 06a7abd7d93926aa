import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { LogLine } from '@buildmesh/protocol';
import { BuildLog } from '../src/runner/build-log.js';
import { attemptSecretValues, createMasker, MASK } from '../src/runner/mask-secrets.js';

/** What the real `base64` tool prints for `prefix + secret` (lines, wrapped at 76 as GNU base64 does). */
function base64Lines(text: string): string[] {
  return execFileSync('base64', { input: text, encoding: 'utf8' }).trimEnd().split('\n');
}

const SECRET = 'sk_live_4f9a8b7c6d5e';

void test('the value and its base64 form are masked, at every byte alignment inside longer base64', () => {
  const mask = createMasker([SECRET]);
  assert.equal(mask(`token=${SECRET}; again ${SECRET}`), `token=${MASK}; again ${MASK}`);
  for (const prefix of ['', 'a', 'ab', 'abc', 'Authorization: Bearer ']) {
    for (const suffix of ['', '\n', 'x', 'yz']) {
      const [line] = base64Lines(prefix + SECRET + suffix);
      const masked = mask(line!);
      assert.ok(masked.includes(MASK), `base64 of ${JSON.stringify(prefix)}+secret+${JSON.stringify(suffix)} is masked: ${masked}`);
      // Nothing long enough to recover the secret is left.
      const decoded = Buffer.from(masked.replaceAll(MASK, ''), 'base64').toString('latin1');
      assert.ok(!decoded.includes(SECRET.slice(0, 8)), `no recognisable part survives: ${decoded}`);
    }
  }
});

void test('a long secret printed by `base64` wrapped over several lines is masked on each line', () => {
  const long = 'ghp_' + 'A1b2C3d4E5f6G7h8I9j0'.repeat(6);
  const mask = createMasker([long]);
  const lines = base64Lines(long);
  assert.ok(lines.length >= 2);
  for (const line of lines.slice(0, -1)) assert.equal(mask(line), MASK);
});

void test('a secret that is itself base64 is also masked in its decoded form', () => {
  const decoded = 'correct horse battery staple';
  const mask = createMasker([Buffer.from(decoded).toString('base64')]);
  assert.equal(mask(`password: ${decoded}`), `password: ${MASK}`);
});

void test('very short values are not masked (they would garble the log and protect nothing)', () => {
  const mask = createMasker(['1', 'ab', SECRET]);
  assert.equal(mask('step 1 of ab'), 'step 1 of ab');
});

void test('credentials passwords are among the secret values; the masker is the identity without secrets', () => {
  const values = attemptSecretValues({
    secrets: { API_KEY: SECRET },
    credentials: { android: { keystore: { keystoreBase64: 'AAAA', keystorePassword: 'store-pass-123', keyAlias: 'alias', keyPassword: 'key-pass-456' } } },
  });
  assert.ok(values.includes('store-pass-123') && values.includes('key-pass-456') && values.includes(SECRET));
  assert.ok(!values.includes('alias'), 'the alias is not a secret');
  const plain = createMasker([]);
  const text = 'nothing to hide';
  assert.equal(plain(text), text);
});

void test('BuildLog masks before a line reaches the sink, and splits lines longer than the protocol allows', () => {
  const queued: LogLine[] = [];
  const log = new BuildLog((line) => queued.push(line), createMasker([SECRET]));
  log.write('stdout', 'CUSTOM', `echo ${SECRET}`);
  log.startPhase('P', `title with ${SECRET}`);
  log.write('stderr', 'P', 'x'.repeat(70_000));
  assert.equal(queued[0]!.text, `echo ${MASK}`);
  assert.equal(queued[1]!.text, `title with ${MASK}`);
  assert.deepEqual(queued.slice(2).map((l) => l.text.length), [65_536, 70_000 - 65_536]);
  assert.ok(!JSON.stringify(queued).includes(SECRET));
  assert.deepEqual(log.tail.lines().map((l) => l.length), [65_536, 70_000 - 65_536]);
});

void test('masking keeps up with a chatty build (well over 100,000 lines per second)', () => {
  const mask = createMasker([SECRET, 'another-secret-value', 'third one here!']);
  const lines = Array.from({ length: 200_000 }, (_, i) => `[${i}] compiling module number ${i} of the project, all fine`);
  const started = performance.now();
  let masked = 0;
  for (const line of lines) if (mask(line) !== line) masked++;
  const perSecond = lines.length / ((performance.now() - started) / 1000);
  assert.equal(masked, 0);
  assert.ok(perSecond > 300_000, `masked ${Math.round(perSecond)} lines/s`);
});
