/**
 * Encryption at rest for signing credentials and project secrets: AES-256-GCM
 * with a random 12-byte IV per value. A sealed value is
 *
 *   [key version: 1 byte][IV: 12 bytes][ciphertext][auth tag: 16 bytes]
 *
 * The version byte names the key that sealed it: during a key rotation
 * (crypto/rotate-key.ts) the keyring holds the old and the new key, seals with the
 * new one and opens both; afterwards it holds only the new one.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFile, writeFile, chmod, rename } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
export const KEY_FILE_NAME = 'encryption.key';

export class Keyring {
  private readonly keys = new Map<number, Buffer>();
  private current: number;

  constructor(key: Buffer, version = 1) {
    if (key.length !== KEY_BYTES) throw new Error(`an encryption key is ${KEY_BYTES} bytes, got ${key.length}`);
    this.keys.set(version, key);
    this.current = version;
  }

  /** The version new values are sealed with. */
  get currentVersion(): number {
    return this.current;
  }

  /** Every key it holds, the current one last (what the key file stores). */
  entries(): Array<{ version: number; key: Buffer }> {
    return [...this.keys].sort(([a], [b]) => (a === this.current ? 1 : b === this.current ? -1 : a - b)).map(([version, key]) => ({ version, key }));
  }

  /** Adds a key; with `current` it seals from now on (the others still open what they sealed). */
  addKey(version: number, key: Buffer, current: boolean): void {
    if (key.length !== KEY_BYTES || version < 1 || version > 255) throw new Error('a key version is 1–255 and a key 32 bytes');
    this.keys.set(version, key);
    if (current) this.current = version;
  }

  /** Forgets every key but the current one (the end of a rotation). */
  dropOldKeys(): void {
    for (const version of [...this.keys.keys()]) if (version !== this.current) this.keys.delete(version);
  }

  seal(plaintext: Buffer): Buffer {
    const key = this.keys.get(this.current)!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.from([this.current]), iv, body, cipher.getAuthTag()]);
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
    const keyring = parseKeyFile(await readFile(file, 'utf8'), file);
    await chmod(file, 0o600); // a key file copied in (a restore, an older version) becomes owner-only again
    return keyring;
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

/**
 * The data dir's key file: one base64 key (version 1, as every version before rotation wrote it),
 * or lines `v<version>:<base64>` after a rotation; the last line is the current key. Two lines
 * mean a rotation did not finish: the controller finishes it at start (crypto/rotate-key.ts).
 */
export function parseKeyFile(text: string, file: string): Keyring {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  let keyring: Keyring | undefined;
  for (const line of lines) {
    const m = /^v(\d{1,3}):(.+)$/.exec(line);
    const version = m ? Number(m[1]) : 1;
    const key = Buffer.from(m ? m[2]! : line, 'base64');
    if (key.length !== KEY_BYTES || version < 1 || version > 255) throw new Error(`${file} does not hold base64 ${KEY_BYTES}-byte keys`);
    if (keyring) keyring.addKey(version, key, true);
    else keyring = new Keyring(key, version);
  }
  if (!keyring) throw new Error(`${file} does not hold a base64 ${KEY_BYTES}-byte key`);
  return keyring;
}

/** Replaces the key file atomically (temp file, fsync'd by rename order, mode 0600) with the keyring's keys. */
export async function writeKeyFile(file: string, keyring: Keyring): Promise<void> {
  const text = keyring.entries().map((e) => `v${e.version}:${e.key.toString('base64')}`).join('\n') + '\n';
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, text, { mode: 0o600, flush: true });
  await rename(temp, file);
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
