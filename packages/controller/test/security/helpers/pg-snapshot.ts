/**
 * snapshot() for a world on PostgreSQL: the same shape as the SQLite one (every table, volatile
 * columns left out, narrowed to one org's rows when asked, plus the blob files), read from the
 * database the controller runs on.
 */
import { join } from 'node:path';
import pg from 'pg';
import { listFiles } from '../../helpers/data-dir.js';

export async function snapshotPostgres(databaseUrl: string, dataDir: string, orgId: string | undefined, volatile: Set<string>): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const tables = (
      await client.query<{ table_name: string }>(
        "select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' and table_name not like 'buildmesh_migrations%' order by table_name",
      )
    ).rows.map((r) => r.table_name);
    const out: Record<string, unknown[]> = {};
    const builds = orgId ? (await client.query<{ id: string }>('select id from builds where org_id = $1', [orgId])).rows.map((r) => r.id) : [];
    for (const name of tables) {
      const columns = (
        await client.query<{ column_name: string }>(
          'select column_name from information_schema.columns where table_schema = current_schema() and table_name = $1 order by ordinal_position',
          [name],
        )
      ).rows.map((r) => r.column_name);
      const kept = columns.filter((c) => !volatile.has(c));
      let sql = `select ${kept.map((c) => `"${c}"`).join(', ')} from "${name}"`;
      const args: unknown[] = [];
      if (orgId) {
        if (columns.includes('org_id')) {
          sql += ' where org_id = $1';
          args.push(orgId);
        } else if (columns.includes('build_id')) {
          sql += ' where build_id = any($1)';
          args.push(builds);
        } else if (name !== 'orgs') continue;
        else {
          sql += ' where id = $1';
          args.push(orgId);
        }
      }
      const rows = await client.query({ text: `${sql} order by 1`, values: args, rowMode: 'array' });
      out[name] = rows.rows.map((row: unknown[]) => row.map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : v)));
    }
    if (!orgId) out.files = await listFiles(join(dataDir, 'blobs')).catch(() => []);
    return JSON.stringify(out);
  } finally {
    await client.end();
  }
}
