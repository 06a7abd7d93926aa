/**
 * `buildmesh migrate-store`: moves an embedded install (SQLite + blobs in a data
 * dir) to PostgreSQL for the scale-out setup; resumable, verified table by table.
 */
import { resolve } from 'node:path';
import { action, command } from '../command-kit.js';
import { CliError } from '../output.js';
import { loadController } from '../server-modules.js';

interface Options {
  json?: boolean;
  from: string;
  to?: string;
  blobsTo?: string;
  intoNonEmpty?: boolean;
}

export const migrateStoreCommand = action<Options>(
  command('migrate-store', 'Move an embedded install (./.buildmesh) into PostgreSQL: every row, verified; resumable', [
    'buildmesh migrate-store --from ./.buildmesh --to postgres://buildmesh:…@db:5432/buildmesh --blobs-to /mnt/buildmesh/blobs',
    'BUILDMESH_DATABASE_URL=postgres://… buildmesh migrate-store --from /var/lib/buildmesh',
    "BUILDMESH_DATABASE_URL=postgres://… buildmesh migrate-store --blobs-to 's3://acme-buildmesh/blobs?region=eu-west-1'",
  ])
    .option('--from <dir>', 'the embedded data dir to copy (stop its controller first)', './.buildmesh')
    .option('--to <url>', 'target PostgreSQL database, empty (env BUILDMESH_DATABASE_URL; prefer the variable: argv shows in ps)')
    .option('--blobs-to <dir|s3-url>', "also copy the blobs into this directory (the replicas' BUILDMESH_DATA_DIR/blobs) or bucket (s3://…, their BUILDMESH_BLOB_URL); default: leave them in --from")
    .option('--into-non-empty', 'copy into a database that already holds data (merge); checksums then cannot be compared')
    .addHelpText(
      'after',
      '\nRun it again after an interruption: rows and blobs already copied are skipped. Start the replicas with the\nsame encryption key (the data dir\'s encryption.key, e.g. through BUILDMESH_ENCRYPTION_KEY_FILE).\n\nJSON (--json): { from, to, resumed, tables: [{ table, rows, sha256 }], blobs: { files, copied, bytes } | null }\n',
    ),
  async ({ out, opts }) => {
    const to = opts.to ?? process.env.BUILDMESH_DATABASE_URL;
    if (!to) throw new CliError('CONFIG_INVALID', 'no target database', 'pass --to postgres://… or set BUILDMESH_DATABASE_URL');
    const { migrateStore } = await loadController();
    let report;
    try {
      report = await migrateStore({
        from: resolve(opts.from),
        to,
        blobsTo: !opts.blobsTo ? null : opts.blobsTo.startsWith('s3://') ? opts.blobsTo : resolve(opts.blobsTo),
        intoNonEmpty: opts.intoNonEmpty === true,
        onProgress: out.json ? undefined : (m) => out.info(m),
      });
    } catch (err) {
      throw new CliError('MIGRATE_FAILED', (err as Error).message, 'fix the cause and run the same command again: it resumes');
    }
    if (out.json) return out.printJson(report);
    const rows = report.tables.reduce((n, t) => n + t.rows, 0);
    out.info(`Moved ${rows} rows in ${report.tables.length} tables${report.blobs ? ` and ${report.blobs.files} blobs` : ''}; every table verified.`);
    out.info(`Next: start the replicas with BUILDMESH_DATABASE_URL and the key from ${resolve(opts.from)}/encryption.key (README, "Scale out").`);
  },
);
