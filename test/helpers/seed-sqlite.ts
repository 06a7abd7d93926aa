/**
 * Scale fixtures written straight into a controller's SQLite file (100k builds in
 * about a second, where the API would take minutes): copies of a build the
 * controller made, and log batches for an attempt it leased. The controller may
 * be running: these are ordinary WAL transactions, and the store's triggers keep
 * its counts right.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { LogLine } from '@buildmesh/protocol';
import { DATABASE_FILE } from '../../packages/controller/src/backup.js';
import { newId } from '../../packages/controller/src/ids.js';
import { labelKey } from '../../packages/controller/src/store/label-key.js';

export function openDataDirDb(dataDir: string): Database.Database {
  const db = new Database(join(dataDir, DATABASE_FILE));
  db.pragma('busy_timeout = 10000');
  return db;
}

/**
 * `count` queued copies of build `templateId` (same org and project), newer than it, with
 * the given platform / labels / status. Returns the new ids, oldest first.
 */
export function seedBuilds(
  dataDir: string,
  templateId: string,
  count: number,
  overrides: { platform?: string; labels?: Record<string, string>; status?: string; profileName?: string } = {},
): string[] {
  const db = openDataDirDb(dataDir);
  try {
    const template = db.prepare('select * from builds where id = ?').get(templateId) as Record<string, unknown> | undefined;
    if (!template) throw new Error(`no build ${templateId}`);
    const row: Record<string, unknown> = { ...template, attempt_count: 0, started_at: null, finished_at: null };
    if ('idempotency_key' in row) row.idempotency_key = null; // unique per org
    if (overrides.platform) row.platform = overrides.platform;
    if (overrides.profileName) row.profile_name = overrides.profileName;
    if (overrides.status) row.status = overrides.status;
    if (overrides.status && overrides.status !== 'queued' && overrides.status !== 'running') row.finished_at = new Date().toISOString();
    if (overrides.labels) {
      row.labels = JSON.stringify(overrides.labels);
      row.label_key = labelKey(overrides.labels);
    }
    const columns = Object.keys(row);
    const insert = db.prepare(`insert into builds (${columns.join(', ')}) values (${columns.map((c) => `@${c}`).join(', ')})`);
    const lane = db.prepare('insert into queue_lanes (org_id, platform, label_key, labels) values (?, ?, ?, ?) on conflict do nothing');
    const ids: string[] = [];
    db.transaction(() => {
      lane.run(row.org_id, row.platform, row.label_key, row.labels);
      for (let i = 0; i < count; i++) {
        const id = newId('bld');
        insert.run({ ...row, id });
        ids.push(id);
      }
    })();
    return ids;
  } finally {
    db.close();
  }
}

/**
 * Appends `batches` log batches of `linesPerBatch` lines to a live attempt, after the ones it has.
 * Line i of the whole log reads `line <i> …` padded to about `lineBytes`.
 */
export function seedLogBatches(dataDir: string, attemptId: string, batches: number, linesPerBatch: number, lineBytes = 80): { lines: number } {
  const db = openDataDirDb(dataDir);
  try {
    const attempt = db.prepare('select build_id, number, last_log_seq from attempts where id = ?').get(attemptId) as
      | { build_id: string; number: number; last_log_seq: number }
      | undefined;
    if (!attempt) throw new Error(`no attempt ${attemptId}`);
    const insert = db.prepare(
      'insert into log_batches (attempt_id, seq, build_id, attempt_number, line_count, lines, size) values (?, ?, ?, ?, ?, ?, ?)',
    );
    let n = 0;
    db.transaction(() => {
      for (let b = 1; b <= batches; b++) {
        const lines: LogLine[] = [];
        for (let i = 0; i < linesPerBatch; i++, n++) {
          const text = `line ${n} `;
          lines.push({ t: 1_700_000_000_000 + n, stream: 'stdout', phase: 'RUN', text: text.padEnd(lineBytes, 'x') });
        }
        const body = JSON.stringify(lines);
        insert.run(attemptId, attempt.last_log_seq + b, attempt.build_id, attempt.number, lines.length, body, body.length);
      }
      db.prepare('update attempts set last_log_seq = ? where id = ?').run(attempt.last_log_seq + batches, attemptId);
    })();
    return { lines: n };
  } finally {
    db.close();
  }
}
