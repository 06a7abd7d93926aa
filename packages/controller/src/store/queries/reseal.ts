import { sql, type QueryResult, type RawBuilder } from 'kysely';
import type { Db } from '../rows.js';

/** Every column holding a value sealed with the keyring, with the key that names its row. */
const SEALED = [
  { table: 'project_credentials', key: ['project_id', 'platform'], column: 'sealed' },
  { table: 'secrets', key: ['project_id', 'name', 'environment'], column: 'sealed' },
  { table: 'builds', key: ['id'], column: 'credentials_sealed' },
  { table: 'webhooks', key: ['id'], column: 'secret_sealed' },
  { table: 'instance_meta', key: ['name'], column: 'value' },
  { table: 'provenance_keys', key: ['id'], column: 'private_sealed' },
] as const;

const BATCH = 200;

/**
 * Key rotation's pass: every sealed value whose version byte is not `version` is opened and sealed
 * again by `reseal`, in batches, each row updated only if it still holds the value read (a
 * concurrent write, already sealed with the new key, wins). Returns the rows re-sealed per table.
 */
export async function resealAll(db: Db, version: number, reseal: (sealed: Buffer) => Buffer): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const { table, key, column } of SEALED) {
    counts[table] = 0;
    let after: unknown[] | null = null;
    for (;;) {
      const keyList = sql.join(key.map((k) => sql.ref(k)));
      const where: RawBuilder<unknown> = after === null ? sql`${sql.ref(column)} is not null` : sql`${sql.ref(column)} is not null and (${keyList}) > (${sql.join(after)})`;
      const rows: QueryResult<Record<string, unknown>> = await sql<Record<string, unknown>>`select ${keyList}, ${sql.ref(column)} as sealed from ${sql.table(table)} where ${where} order by ${keyList} limit ${BATCH}`.execute(db);
      if (rows.rows.length === 0) break;
      for (const row of rows.rows) {
        const sealed = Buffer.from(row.sealed as Uint8Array);
        if (sealed[0] === version) continue;
        const match = sql.join(key.map((k) => sql`${sql.ref(k)} = ${row[k]}`), sql` and `);
        const r = await sql`update ${sql.table(table)} set ${sql.ref(column)} = ${reseal(sealed)} where ${match} and ${sql.ref(column)} = ${sealed}`.execute(db);
        if (Number(r.numAffectedRows ?? 0) > 0) counts[table]++;
      }
      const last: Record<string, unknown> = rows.rows[rows.rows.length - 1]!;
      after = key.map((k) => last[k]);
      if (rows.rows.length < BATCH) break;
    }
  }
  return counts;
}
