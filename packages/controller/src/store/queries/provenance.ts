import type { Db } from '../rows.js';
import type { ArtifactProvenanceTable, ProvenanceKeysTable } from '../schema.js';

export interface ProvenanceKeyRow {
  id: string;
  publicKeyPem: string;
  privateSealed: Buffer;
  createdAt: string;
  retiredAt: string | null;
}
const toKey = (r: ProvenanceKeysTable): ProvenanceKeyRow => ({
  id: r.id,
  publicKeyPem: r.public_key_pem,
  privateSealed: Buffer.from(r.private_sealed),
  createdAt: r.created_at,
  retiredAt: r.retired_at,
});

/** Oldest first; the signing key is the newest one not retired. */
export async function listProvenanceKeys(db: Db): Promise<ProvenanceKeyRow[]> {
  return (await db.selectFrom('provenance_keys').selectAll().orderBy('created_at').orderBy('id').execute()).map(toKey);
}

/** Adds a key and, when `retireOthers`, retires every other live one (rotation), in one transaction. */
export async function addProvenanceKey(db: Db, key: ProvenanceKeyRow, retireOthers: boolean): Promise<void> {
  await db.transaction().execute(async (trx) => {
    if (retireOthers) await trx.updateTable('provenance_keys').set({ retired_at: key.createdAt }).where('retired_at', 'is', null).execute();
    await trx
      .insertInto('provenance_keys')
      .values({ id: key.id, public_key_pem: key.publicKeyPem, private_sealed: key.privateSealed, created_at: key.createdAt, retired_at: null })
      .execute();
  });
}

export interface StoredProvenance {
  artifactId: string;
  keyId: string;
  envelope: string;
  createdAt: string;
}

export async function getProvenance(db: Db, orgId: string, artifactId: string): Promise<StoredProvenance | undefined> {
  const r = await db.selectFrom('artifact_provenance').selectAll().where('artifact_id', '=', artifactId).where('org_id', '=', orgId).executeTakeFirst();
  return r && { artifactId: r.artifact_id, keyId: r.key_id, envelope: r.envelope, createdAt: r.created_at };
}

/** Issued once: a concurrent first request (another replica) keeps the statement stored first. */
export async function putProvenance(db: Db, p: ArtifactProvenanceTable): Promise<StoredProvenance> {
  await db.insertInto('artifact_provenance').values(p).onConflict((oc) => oc.column('artifact_id').doNothing()).execute();
  return (await getProvenance(db, p.org_id, p.artifact_id))!;
}
