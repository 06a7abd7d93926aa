import type { LogEntry, LogLine } from '@buildmesh/protocol';
import type { Db } from '../rows.js';

export type LogPosition = { attempt: number; seq: number };

/** Batches after `after`, oldest first, flattened into lines tagged with their attempt. */
export async function readLogs(
  db: Db,
  orgId: string,
  buildId: string,
  options: { after: LogPosition | null; limit: number; attempt?: number },
): Promise<{ entries: LogEntry[]; last: LogPosition | null } | undefined> {
  const build = await db.selectFrom('builds').select('id').where('id', '=', buildId).where('org_id', '=', orgId).executeTakeFirst();
  if (!build) return undefined;
  let q = db.selectFrom('log_batches').select(['attempt_number', 'seq', 'lines']).where('build_id', '=', buildId);
  if (options.attempt !== undefined) q = q.where('attempt_number', '=', options.attempt);
  const after = options.after;
  if (after) {
    q = q.where((eb) =>
      eb.or([eb('attempt_number', '>', after.attempt), eb.and([eb('attempt_number', '=', after.attempt), eb('seq', '>', after.seq)])]),
    );
  }
  const rows = await q.orderBy('attempt_number').orderBy('seq').limit(options.limit).execute();
  const entries: LogEntry[] = [];
  for (const row of rows) {
    for (const line of JSON.parse(row.lines) as LogLine[]) entries.push({ ...line, attempt: row.attempt_number });
  }
  const lastRow = rows.at(-1);
  return { entries, last: lastRow ? { attempt: lastRow.attempt_number, seq: lastRow.seq } : after };
}
