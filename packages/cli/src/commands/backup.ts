/**
 * `buildmesh backup` / `buildmesh restore`: the embedded data dir (SQLite + blobs
 * + key file) as one archive, consistent while the controller keeps running.
 */
import { resolve } from 'node:path';
import { action, command } from '../command-kit.js';
import { CliError } from '../output.js';
import { loadController } from '../server-modules.js';
import { cli } from '../invocation.js';

const DEFAULT_DATA_DIR = process.env.BUILDMESH_DATA_DIR ?? './.buildmesh';

/** backup/restore cover the embedded store; with PostgreSQL they say what to run instead. */
function refusePostgres(what: 'backup' | 'restore'): void {
  if (!process.env.BUILDMESH_DATABASE_URL) return;
  throw new CliError(
    'BACKUP_FAILED',
    `BUILDMESH_DATABASE_URL is set: this install keeps its data in PostgreSQL, which \`buildmesh ${what}\` does not cover`,
    what === 'backup'
      ? 'run `pg_dump -Fc "$BUILDMESH_DATABASE_URL" -f buildmesh.dump`, copy the blob directory (<data dir>/blobs) after it, and keep the encryption key with them'
      : 'run `pg_restore --no-owner -d "$BUILDMESH_DATABASE_URL" buildmesh.dump` into an empty database, put the blob directory back, and start the replicas with the same encryption key',
  );
}

export const backupCommand = action<{ json?: boolean; dataDir: string; output?: string; key: boolean }>(
  command('backup', 'Back up a controller data dir (database, blobs, key) into one tar.gz, while it runs', [
    'buildmesh backup --output buildmesh-$(date +%F).tar.gz',
    'buildmesh backup --data-dir /var/lib/buildmesh --output /backups/bm.tar.gz --no-key',
  ])
    .option('--data-dir <dir>', 'the controller data dir (env BUILDMESH_DATA_DIR, default ./.buildmesh)', DEFAULT_DATA_DIR)
    .option('--output <file>', 'archive to write (default buildmesh-backup-<time>.tar.gz)')
    .option('--no-key', 'leave the encryption key out (then keep encryption.key safe separately: credentials cannot be read without it)')
    .addHelpText('after', '\nJSON (--json): { file, blobs, bytes, includesKey }\n'),
  async ({ out, opts }) => {
    refusePostgres('backup');
    const { backupDataDir } = await loadController();
    const file = resolve(opts.output ?? `buildmesh-backup-${new Date().toISOString().replace(/[:.]/g, '-')}.tar.gz`);
    let result;
    try {
      result = await backupDataDir(resolve(opts.dataDir), file, { includeKey: opts.key });
    } catch (err) {
      throw new CliError('BACKUP_FAILED', (err as Error).message, 'point --data-dir at the controller data dir');
    }
    if (out.json) return out.printJson(result);
    out.info(`Backed up ${result.blobs} blobs into ${result.file} (${result.bytes} bytes).`);
    out.info(result.includesKey ? 'The archive contains the encryption key: store it as carefully as the key itself.' : 'The key is not in the archive: keep encryption.key with it.');
  },
);

export const restoreCommand = action<{ json?: boolean; dataDir: string }>(
  command('restore', 'Restore a backup archive into an empty data dir (then start the controller on it)', [
    'buildmesh restore buildmesh-2026-11-28.tar.gz --data-dir /var/lib/buildmesh',
  ])
    .argument('<archive>', 'the archive `buildmesh backup` wrote')
    .option('--data-dir <dir>', 'an empty directory to restore into (env BUILDMESH_DATA_DIR, default ./.buildmesh)', DEFAULT_DATA_DIR)
    .addHelpText('after', '\nJSON (--json): { dataDir, blobs }\n'),
  async ({ out, opts, args }) => {
    refusePostgres('restore');
    const { restoreDataDir } = await loadController();
    const dataDir = resolve(opts.dataDir);
    let result;
    try {
      result = await restoreDataDir(resolve(args[0]!), dataDir);
    } catch (err) {
      throw new CliError('RESTORE_FAILED', (err as Error).message, 'restore into an empty directory, from an archive `buildmesh backup` wrote');
    }
    if (out.json) return out.printJson({ dataDir, blobs: result.blobs });
    out.info(`Restored ${result.blobs} blobs into ${dataDir}. Start it with: ${cli()} controller --data-dir ${dataDir}`);
  },
);
