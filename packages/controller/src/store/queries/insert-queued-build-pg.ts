/**
 * PostgreSQL's submit in one statement (one round trip, no BEGIN/COMMIT): the queue lane, the build
 * row, and the two checks that decide whether the plain path must run instead — a webhook
 * subscribed to `build.queued` for the build's project (its outbox row must commit with the build,
 * with a payload built in TypeScript) and an earlier build with the same idempotency key. In either
 * case nothing of the build is written and the caller takes the transactional path
 * (create-build.ts). Named statement (pg-statements.ts). docs/performance.md.
 */
import { CompiledQuery } from 'kysely';
import type { Db } from '../rows.js';
import { nameStatement } from '../pg-statements.js';

/** The builds columns that are not text (parameters of an INSERT … SELECT are typed by casts). */
const COLUMN_TYPES: Record<string, string> = {
  priority: 'integer',
  source_size: 'bigint',
  credentials_sealed: 'bytea',
  max_attempts: 'integer',
  attempt_count: 'integer',
  timeout_s: 'integer',
  cancel_requested: 'integer',
};

const texts = new Map<string, string>();

function statementFor(columns: string[]): string {
  const key = columns.join(',');
  let text = texts.get(key);
  if (!text) {
    const n = columns.length;
    const at = (c: string) => `$${columns.indexOf(c) + 1}`;
    const values = columns.map((c, i) => `$${i + 1}::${COLUMN_TYPES[c] ?? 'text'}`).join(', ');
    text = [
      `with lane as (insert into queue_lanes (org_id, platform, label_key, labels) values (${at('org_id')}, ${at('platform')}, ${at('label_key')}, ${at('labels')})`,
      `  on conflict (org_id, platform, label_key) do nothing),`,
      `hook as (select 1 from webhooks where org_id = ${at('org_id')} and (project_id is null or project_id = ${at('project_id')}) and events like $${n + 1} limit 1),`,
      `prior as (select 1 from builds where org_id = ${at('org_id')} and idempotency_key = ${at('idempotency_key')} limit 1),`,
      `ins as (insert into builds (${columns.map((c) => `"${c}"`).join(', ')}) select ${values}`,
      `  where not exists (select 1 from hook) and not exists (select 1 from prior) returning 1)`,
      `select count(*)::integer as inserted from ins`,
    ].join('\n');
    nameStatement(text);
    texts.set(key, text);
  }
  return text;
}

/** Inserts the queued build unless a webhook must hear of it or its idempotency key was used: true if inserted. */
export async function insertQueuedBuildAlone(db: Db, row: Record<string, unknown>): Promise<boolean> {
  const columns = Object.keys(row);
  for (const c of ['org_id', 'platform', 'label_key', 'labels', 'project_id', 'idempotency_key']) if (!columns.includes(c)) throw new Error(`a build row without ${c}`);
  const result = await db.executeQuery<{ inserted: number }>(CompiledQuery.raw(statementFor(columns), [...columns.map((c) => row[c]), '%"build.queued"%']));
  return result.rows[0]!.inserted === 1;
}
