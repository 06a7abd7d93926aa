/**
 * `buildmesh migrate`: applies the store's pending migrations (or with --status
 * lists them) as an operation of its own: run it once before starting replicas of
 * a new version. Idempotent and locked, so a second run or a replica starting at
 * the same time applies nothing twice.
 */
import { resolve } from 'node:path';
import { action, command } from '../command-kit.js';
import { CliError } from '../output.js';
import { loadController } from '../server-modules.js';

export const migrateCommand = action<{ json?: boolean; databaseUrl?: string; dataDir: string; status?: boolean }>(
  command('migrate', 'Apply pending database migrations (PostgreSQL or the embedded SQLite), or list them with --status', [
    'BUILDMESH_DATABASE_URL=postgres://buildmesh:…@db:5432/buildmesh buildmesh migrate',
    'buildmesh migrate --status',
    'buildmesh migrate --data-dir /var/lib/buildmesh',
  ])
    .option('--database-url <url>', 'PostgreSQL URL (env BUILDMESH_DATABASE_URL; prefer the variable: argv is visible in ps)')
    .option('--data-dir <dir>', 'without a database URL: the data dir whose SQLite file to migrate (env BUILDMESH_DATA_DIR, default ./.buildmesh)', process.env.BUILDMESH_DATA_DIR ?? './.buildmesh')
    .option('--status', 'list applied and pending migrations; change nothing')
    .addHelpText('after', '\nJSON (--json): { store, target, applied: string[], pending: string[], unknown: string[], ran: string[] }\n'),
  async ({ out, opts }) => {
    const { migrateDatabase } = await loadController();
    const databaseUrl = opts.databaseUrl ?? (process.env.BUILDMESH_DATABASE_URL || null);
    let report;
    try {
      report = await migrateDatabase({ databaseUrl, dataDir: resolve(opts.dataDir) }, { statusOnly: opts.status === true });
    } catch (err) {
      throw new CliError('MIGRATE_FAILED', (err as Error).message, 'check the database URL or data dir, and that this BuildMesh version is not older than the database');
    }
    if (out.json) return out.printJson(report);
    out.info(`${report.store} at ${report.target}`);
    if (report.ran.length > 0) out.info(`Applied: ${report.ran.join(', ')}`);
    out.info(`Applied migrations: ${report.applied.length}${report.applied.length ? ` (latest ${report.applied.at(-1)})` : ''}`);
    out.info(report.pending.length ? `Pending: ${report.pending.join(', ')} — run \`buildmesh migrate\`` : 'Pending: none (up to date)');
    if (report.unknown.length) out.info(`Newer than this version: ${report.unknown.join(', ')} — upgrade BuildMesh before starting controllers`);
  },
);
