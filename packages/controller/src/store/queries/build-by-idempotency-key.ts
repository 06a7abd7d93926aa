import type { Build } from '@buildmesh/protocol';
import { selectBuilds, toBuild, type Db } from '../rows.js';

/** The org's build submitted with this idempotency key, if any. */
export async function buildByIdempotencyKey(db: Db, orgId: string, key: string): Promise<Build | undefined> {
  const row = await selectBuilds(db).where('builds.org_id', '=', orgId).where('builds.idempotency_key', '=', key).executeTakeFirst();
  return row ? toBuild(row) : undefined;
}
