import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keyring, loadKeyring } from '../src/crypto/keyring.js';

test('a sealed value opens with its key only, and any change to it is detected', () => {
  const keyring = new Keyring(randomBytes(32));
  const plaintext = Buffer.from('keystore password: hunter2');
  const sealed = keyring.seal(plaintext);
  assert.ok(!sealed.includes(plaintext), 'the plaintext is not in the sealed bytes');
  assert.ok(keyring.open(sealed).equals(plaintext));
  assert.ok(!keyring.seal(plaintext).equals(sealed), 'a fresh IV every time');
  for (const i of [0, 1, 13, sealed.length - 1]) {
    const tampered = Buffer.from(sealed);
    tampered[i]! ^= 1;
    assert.throws(() => keyring.open(tampered), `a flipped bit at ${i} is detected`);
  }
  assert.throws(() => new Keyring(randomBytes(32)).open(sealed), 'another key cannot open it');
  assert.deepEqual(keyring.openJson(keyring.sealJson({ a: [1, 'x'] })), { a: [1, 'x'] });
});

test('the key file is created once with mode 0600, reused, and its loss is refused while data exists', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'buildmesh-key-'));
  try {
    const first = await loadKeyring({ dataDir, encryptionKey: null, databaseExists: false });
    const file = join(dataDir, 'encryption.key');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const sealed = first.seal(Buffer.from('x'));
    const second = await loadKeyring({ dataDir, encryptionKey: null, databaseExists: true });
    assert.equal(second.open(sealed).toString(), 'x', 'the same key on the next start');
    const fromEnv = await loadKeyring({ dataDir: '/nonexistent', encryptionKey: (await readFile(file, 'utf8')).trim(), databaseExists: true });
    assert.equal(fromEnv.open(sealed).toString(), 'x', 'BUILDMESH_ENCRYPTION_KEY holds the same key');
    await rm(file);
    await assert.rejects(loadKeyring({ dataDir, encryptionKey: null, databaseExists: true }), /encryption\.key is missing but the database exists/);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
