/**
 * Encryption at rest for signing credentials and project secrets: AES-256-GCM
 * with a random 12-byte IV per value. A sealed value is
 *
 *   [key version: 1 byte][IV: 12 bytes][ciphertext][auth tag: 16 bytes]
 *
 * The version byte names the key that sealed it, so a later key rotation can add
 * keys and still open old values.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFile, writeFile, chmod } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const CURRENT_VERSION = 1;
export const KEY_FILE_NAME = 'encryption.key';

export class Keyring {
  private readonly keys = new Map<number, Buffer>();

  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) throw new Error(`an encryption key is ${KEY_BYTES} bytes, got ${key.length}`);
    this.keys.set(CURRENT_VERSION, key);
  }

  seal(plaintext: Buffer): Buffer {
    const key = this.keys.get(CURRENT_VERSION)!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.from([CURRENT_VERSION]), iv, body, cipher.getAuthTag()]);
  }

  /** Throws when the value was sealed with another key or was altered. */
  open(sealed: Buffer): Buffer {
    if (sealed.length < 1 + IV_BYTES + TAG_BYTES) throw new Error('sealed value is too short');
    const key = this.keys.get(sealed[0]!);
    if (!key) throw new Error(`sealed with unknown key version ${sealed[0]}`);
    const iv = sealed.subarray(1, 1 + IV_BYTES);
    const tag = sealed.subarray(sealed.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(sealed.subarray(1 + IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
  }

  sealJson(value: unknown): Buffer {
    return this.seal(Buffer.from(JSON.stringify(value), 'utf8'));
  }

  openJson<T>(sealed: Buffer): T {
    return JSON.parse(this.open(sealed).toString('utf8')) as T;
  }
}

/**
 * The key comes from BUILDMESH_ENCRYPTION_KEY when set, else from the key file,
 * which is created (mode 0600) on first start. A data dir whose database exists
 * but whose key file is gone refuses to start: a fresh key could not open the
 * stored credentials, and silently losing them is worse than stopping.
 */
export async function loadKeyring(options: { dataDir: string; encryptionKey: string | null; encryptionKeyFile?: string | null; databaseExists: boolean }): Promise<Keyring> {
  if (options.encryptionKey !== null) return new Keyring(Buffer.from(options.encryptionKey.trim(), 'base64'));
  if (options.encryptionKeyFile) {
    // An operator-provided file (a mounted secret, the same on every replica): never created here.
    const text = await readFile(options.encryptionKeyFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new Error(`BUILDMESH_ENCRYPTION_KEY_FILE ${options.encryptionKeyFile}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
    });
    const key = Buffer.from(text.trim(), 'base64');
    if (key.length !== KEY_BYTES || !/^[A-Za-z0-9+/]+={0,2}$/.test(text.trim())) {
      throw new Error(`BUILDMESH_ENCRYPTION_KEY_FILE ${options.encryptionKeyFile} must hold the base64 of exactly ${KEY_BYTES} bytes (e.g. \`openssl rand -base64 32\`)`);
    }
    return new Keyring(key);
  }
  const file = join(options.dataDir, KEY_FILE_NAME);
  if (existsSync(file)) {
    const key = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
    if (key.length !== KEY_BYTES) throw new Error(`${file} does not hold a base64 ${KEY_BYTES}-byte key`);
    await chmod(file, 0o600); // a key file copied in (a restore, an older version) becomes owner-only again
    return new Keyring(key);
  }
  if (options.databaseExists) {
    throw new Error(
      `${file} is missing but the database exists: restore the key file or set BUILDMESH_ENCRYPTION_KEY (a new key could not open the stored credentials)`,
    );
  }
  const key = randomBytes(KEY_BYTES);
  // 'wx': never overwrite a key another process just wrote.
  await writeFile(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
  return new Keyring(key);
}

const KEY_CHECK_PLAINTEXT = 'buildmesh key check v1';

/** What the key check needs from the store (the Store satisfies it). */
export interface KeyCheckStore {
  getKeyCheck(): Promise<Buffer | undefined>;
  putKeyCheck(sealed: Buffer): Promise<void>;
  anySealedValue(): Promise<Buffer | undefined>;
}

/**
 * Refuses a key that cannot open this database's sealed data. The first
 * controller on a database stores a known value sealed with its key; every later
 * start (any replica) must open it. A database from before the check is tested
 * against one of its sealed secrets or credentials, then gets its check value.
 */
export async function verifyKey(store: KeyCheckStore, keyring: Keyring): Promise<void> {
  const refuse = (what: string): never => {
    throw new Error(
      `the encryption key cannot open ${what}: this controller uses a different key from the one the database was created with. ` +
        'Set BUILDMESH_ENCRYPTION_KEY (or BUILDMESH_ENCRYPTION_KEY_FILE) to the key the other replicas use, or restore the data dir\'s encryption.key; ' +
        'starting with a new key would make every stored secret and credential unreadable',
    );
  };
  const opens = (sealed: Buffer): boolean => {
    try {
      keyring.open(sealed);
      return true;
    } catch {
      return false;
    }
  };
  let check = await store.getKeyCheck();
  if (!check) {
    const existing = await store.anySealedValue();
    if (existing && !opens(existing)) refuse('the secrets and credentials already stored');
    await store.putKeyCheck(keyring.seal(Buffer.from(KEY_CHECK_PLAINTEXT)));
    check = (await store.getKeyCheck())!; // a replica starting at the same moment may have stored its own first
  }
  if (!opens(check)) refuse("the database's key check record");
}
