import type { Db } from '../rows.js';
import { nowIso } from '../rows.js';

const KEY_CHECK = 'key_check';

/** The sealed key-check value, if a controller stored one. */
export async function getKeyCheck(db: Db): Promise<Buffer | undefined> {
  const row = await db.selectFrom('instance_meta').select('value').where('name', '=', KEY_CHECK).executeTakeFirst();
  return row ? Buffer.from(row.value) : undefined;
}

/** Stores the key check unless one exists (replicas starting together: the first wins, the others compare against it). */
export async function putKeyCheck(db: Db, sealed: Buffer): Promise<void> {
  await db
    .insertInto('instance_meta')
    .values({ name: KEY_CHECK, value: sealed, created_at: nowIso() })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
}

/** One sealed value already in the database (a secret or credentials), to test a key on a database older than the key check. */
export async function anySealedValue(db: Db): Promise<Buffer | undefined> {
  const secret = await db.selectFrom('secrets').select('sealed').limit(1).executeTakeFirst();
  if (secret) return Buffer.from(secret.sealed);
  const credentials = await db.selectFrom('project_credentials').select('sealed').limit(1).executeTakeFirst();
  return credentials ? Buffer.from(credentials.sealed) : undefined;
}
