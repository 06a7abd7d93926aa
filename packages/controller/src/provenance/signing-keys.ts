/**
 * The instance's provenance signing keys: Ed25519, made on first start, the private half sealed with
 * the keyring and kept in the store, so every replica signs with the same key. Rotation adds a key
 * and retires the others; retired keys stay published, so what they signed still verifies. The
 * signing key is the newest live one (two replicas making the first key at once agree on it).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { ProvenanceKey } from '@buildmesh/protocol';
import type { Keyring } from '../crypto/keyring.js';
import type { ProvenanceKeyRow, Store } from '../store/store.js';
import { nowIso } from '../store/rows.js';

/** A replica re-reads the signing key this often (a rotation elsewhere takes effect within it). */
const CACHE_MS = 30_000;

export interface SigningKey {
  keyid: string;
  privateKey: KeyObject;
}

export const keyIdOf = (publicKey: KeyObject): string => createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');

export class ProvenanceKeys {
  private cached: { at: number; key: SigningKey } | undefined;

  constructor(
    private readonly store: Store,
    private readonly keyring: Keyring,
  ) {}

  /** Makes the first key when there is none (called at start). */
  async ensure(): Promise<void> {
    if ((await this.store.listProvenanceKeys()).some((k) => k.retiredAt === null)) return;
    await this.add(false);
  }

  async rotate(): Promise<ProvenanceKey> {
    const row = await this.add(true);
    this.cached = undefined;
    return publish(row);
  }

  async list(): Promise<ProvenanceKey[]> {
    return (await this.store.listProvenanceKeys()).map(publish);
  }

  async signingKey(): Promise<SigningKey> {
    if (this.cached && Date.now() - this.cached.at < CACHE_MS) return this.cached.key;
    let live = (await this.store.listProvenanceKeys()).filter((k) => k.retiredAt === null);
    if (live.length === 0) {
      await this.ensure();
      live = (await this.store.listProvenanceKeys()).filter((k) => k.retiredAt === null);
    }
    const newest = live.reduce((a, b) => (b.createdAt > a.createdAt || (b.createdAt === a.createdAt && b.id > a.id) ? b : a));
    const key = { keyid: newest.id, privateKey: createPrivateKey({ key: this.keyring.open(newest.privateSealed), format: 'der', type: 'pkcs8' }) };
    this.cached = { at: Date.now(), key };
    return key;
  }

  private async add(retireOthers: boolean): Promise<ProvenanceKeyRow> {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const row: ProvenanceKeyRow = {
      id: keyIdOf(publicKey),
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      privateSealed: this.keyring.seal(privateKey.export({ type: 'pkcs8', format: 'der' })),
      createdAt: nowIso(),
      retiredAt: null,
    };
    await this.store.addProvenanceKey(row, retireOthers);
    return row;
  }
}

const publish = (k: ProvenanceKeyRow): ProvenanceKey => ({
  keyid: k.id,
  algorithm: 'ed25519',
  publicKeyPem: createPublicKey(k.publicKeyPem).export({ type: 'spki', format: 'pem' }).toString(),
  createdAt: k.createdAt,
  retiredAt: k.retiredAt,
});
