/**
 * The data dir holds the encryption key, every org's sealed secrets and every token hash: the dir
 * is 0700 and the database, its WAL and SHM files and the key file are 0600 — also when an older
 * version (or a careless copy) left them readable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControllerProcess } from './helpers/controller-process.js';
import { createTenant } from './helpers/fixtures.js';

const mode = async (path: string) => (await stat(path)).mode & 0o777;

async function assertPrivate(dataDir: string, when: string): Promise<void> {
  assert.equal(await mode(dataDir), 0o700, `${when}: the data dir`);
  for (const file of ['controller.db', 'controller.db-wal', 'controller.db-shm', 'encryption.key']) {
    assert.equal(await mode(join(dataDir, file)), 0o600, `${when}: ${file}`);
  }
}

test('the data dir is 0700; the database, its WAL/SHM and the key file are 0600', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'buildmesh-modes-'));
  const controller = await startControllerProcess({ dataDir });
  try {
    const tenant = await createTenant(controller, 'acme');
    await tenant.member.createProject('app');
    await tenant.member.setSecret('app', 'API_KEY', 'value');
    await assertPrivate(dataDir, 'first start');

    // Loosened by hand (or by an older version): tightened again at the next start.
    await controller.kill('SIGKILL');
    await chmod(dataDir, 0o755);
    for (const file of ['controller.db', 'controller.db-wal', 'controller.db-shm', 'encryption.key']) await chmod(join(dataDir, file), 0o644);
    await controller.restart();
    await tenant.member.setSecret('app', 'OTHER_KEY', 'value');
    await assertPrivate(dataDir, 'after a restart');
  } finally {
    await controller.dispose();
    await rm(dataDir, { recursive: true, force: true });
  }
});
