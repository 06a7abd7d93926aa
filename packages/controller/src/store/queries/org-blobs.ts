import type { Db } from '../rows.js';
import { prepared } from '../prepared.js';

/** One blob of the org (every build creation asks about its source): prepared, see prepared.ts. */
const oneOrgBlob = prepared(2, (db, orgId: string, sha256: string) => db.selectFrom('org_blobs').select(['sha256', 'size']).where('org_id', '=', orgId).where('sha256', '=', sha256));

/** Records that the org uploaded this blob (idempotent). */
export async function recordOrgBlob(db: Db, orgId: string, sha256: string, size: number): Promise<void> {
  await db
    .insertInto('org_blobs')
    .values({ org_id: orgId, sha256, size, created_at: new Date().toISOString() })
    .onConflict((oc) => oc.columns(['org_id', 'sha256']).doNothing())
    .execute();
}

/** Of these blobs, the ones this org has uploaded with this size (a blob another org uploaded is not among them). */
export async function orgBlobsKnown(db: Db, orgId: string, blobs: ReadonlyArray<{ sha256: string; size: number }>): Promise<Set<string>> {
  if (blobs.length === 0) return new Set();
  const rows =
    blobs.length === 1
      ? (await oneOrgBlob(db, orgId, blobs[0]!.sha256)).rows
      : await db.selectFrom('org_blobs').select(['sha256', 'size']).where('org_id', '=', orgId).where('sha256', 'in', blobs.map((b) => b.sha256)).execute();
  const asked = new Set(blobs.map((b) => `${b.sha256}:${b.size}`));
  return new Set(rows.filter((r) => asked.has(`${r.sha256}:${Number(r.size)}`)).map((r) => r.sha256));
}
