/**
 * `buildmesh admin rotate-key`: a new encryption key while the controller runs. The key file first
 * holds the old and the new key (a crash from here on resumes at the next start), new values are
 * sealed with the new key at once, every stored sealed value — project credentials, secrets, the
 * credentials sealed into builds, webhook secrets, the key check — is re-sealed, and then the file
 * and the keyring keep only the new key: the old one opens nothing stored any more.
 *
 * Only for the data dir's key file (the embedded, one-process setup). A key the operator provides
 * (BUILDMESH_ENCRYPTION_KEY / _FILE, which every PostgreSQL replica shares) cannot be replaced by
 * the controller; that answers CONFLICT.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ApiError } from '@buildmesh/protocol';
import type { ControllerOptions } from '../config.js';
import type { Store } from '../store/store.js';
import { KEY_FILE_NAME, writeKeyFile, type Keyring } from './keyring.js';

let rotating = false;

export function keyFileOf(options: ControllerOptions): string | null {
  return options.encryptionKey === null && options.encryptionKeyFile === null && options.databaseUrl === null ? join(options.dataDir, KEY_FILE_NAME) : null;
}

/** Re-seals everything under the keyring's current key, then forgets the others (also finishes an interrupted rotation at start). */
export async function finishRotation(store: Store, keyring: Keyring, file: string): Promise<Record<string, number>> {
  const resealed = await store.resealAll(keyring.currentVersion, (sealed) => keyring.seal(keyring.open(sealed)));
  keyring.dropOldKeys();
  await writeKeyFile(file, keyring);
  return resealed;
}

export async function rotateKey(options: ControllerOptions, store: Store, keyring: Keyring): Promise<{ version: number; resealed: Record<string, number> }> {
  const file = keyFileOf(options);
  if (!file) {
    throw new ApiError(
      'CONFLICT',
      'the encryption key comes from BUILDMESH_ENCRYPTION_KEY or BUILDMESH_ENCRYPTION_KEY_FILE (shared by every replica): the controller cannot replace it; see docs/operations.md, "Rotating the encryption key"',
    );
  }
  if (rotating) throw new ApiError('CONFLICT', 'a key rotation is already running');
  rotating = true;
  try {
    const version = (keyring.currentVersion % 255) + 1;
    keyring.addKey(version, randomBytes(32), true);
    await writeKeyFile(file, keyring); // old + new: a crash now is finished at the next start
    const resealed = await finishRotation(store, keyring, file);
    return { version, resealed };
  } finally {
    rotating = false;
  }
}
