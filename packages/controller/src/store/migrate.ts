/**
 * Numbered migrations, run on every start (and by `buildmesh migrate`) inside
 * Kysely's Migrator. Each step gets the dialect: the few types that differ
 * (bytea/blob, bigint) are chosen there; everything else is portable SQL.
 */
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { MigrationStatus } from './store.js';
import * as m0001 from './migrations/0001_initial.js';
import * as m0002 from './migrations/0002_claim_order_index.js';
import * as m0003 from './migrations/0003_flat_queue_and_logs.js';
import * as m0004 from './migrations/0004_build_idempotency_key.js';
import * as m0005 from './migrations/0005_worker_executor_and_enrollment.js';
import * as m0006 from './migrations/0006_key_check.js';
import * as m0007 from './migrations/0007_dashboard_sessions.js';
import * as m0008 from './migrations/0008_build_submitted_by.js';
import * as m0009 from './migrations/0009_webhooks.js';
import * as m0010 from './migrations/0010_org_blobs.js';
import * as m0011 from './migrations/0011_audit_log.js';
import * as m0012 from './migrations/0012_build_stats.js';
import * as m0013 from './migrations/0013_oidc_trust.js';
import * as m0014 from './migrations/0014_app_versions.js';
import * as m0015 from './migrations/0015_provenance.js';
import * as m0016 from './migrations/0016_build_app_dir.js';
import * as m0017 from './migrations/0017_queue_lanes_by_platform.js';
import * as m0018 from './migrations/0018_secret_environments.js';
import * as m0019 from './migrations/0019_artifact_app_info.js';
import * as m0020 from './migrations/0020_attempts_running_by_org.js';
import * as m0021 from './migrations/0021_duration_bucket_shards.js';
import * as m0022 from './migrations/0022_running_attempts_function.js';
import * as m0023 from './migrations/0023_queue_lanes_platform_without_labels.js';
import * as m0024 from './migrations/0024_webhook_deliveries_per_webhook_due.js';
import * as m0025 from './migrations/0025_builds_queued_head.js';

type Step = { up(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> };
const STEPS: Record<string, Step> = {
  '0001_initial': m0001,
  '0002_claim_order_index': m0002,
  '0003_flat_queue_and_logs': m0003,
  '0004_build_idempotency_key': m0004,
  '0005_worker_executor_and_enrollment': m0005,
  '0006_key_check': m0006,
  '0007_dashboard_sessions': m0007,
  '0008_build_submitted_by': m0008,
  '0009_webhooks': m0009,
  '0010_org_blobs': m0010,
  '0011_audit_log': m0011,
  '0012_build_stats': m0012,
  '0013_oidc_trust': m0013,
  '0014_app_versions': m0014,
  '0015_provenance': m0015,
  '0016_build_app_dir': m0016,
  '0017_queue_lanes_by_platform': m0017,
  '0018_secret_environments': m0018,
  '0019_artifact_app_info': m0019,
  '0020_attempts_running_by_org': m0020,
  '0021_duration_bucket_shards': m0021,
  '0022_running_attempts_function': m0022,
  '0023_queue_lanes_platform_without_labels': m0023,
  '0024_webhook_deliveries_per_webhook_due': m0024,
  '0025_builds_queued_head': m0025,
};

const TABLE = 'buildmesh_migrations';

/** Every migration this version knows, in order. */
export const KNOWN_MIGRATIONS: readonly string[] = Object.keys(STEPS);

export async function migrationStatus(db: Kysely<unknown>): Promise<MigrationStatus> {
  let applied: string[] = [];
  try {
    const rows = await sql<{ name: string }>`select name from ${sql.table(TABLE)} order by name`.execute(db);
    applied = rows.rows.map((r) => r.name);
  } catch {
    applied = []; // no migration table yet: a fresh database
  }
  const known = new Set(KNOWN_MIGRATIONS);
  return {
    applied: applied.filter((n) => known.has(n)),
    pending: KNOWN_MIGRATIONS.filter((n) => !applied.includes(n)),
    unknown: applied.filter((n) => !known.has(n)),
  };
}

/** Refuses a database a newer BuildMesh has migrated: this version would misread its tables. */
export function refuseNewerSchema(status: MigrationStatus): void {
  if (status.unknown.length === 0) return;
  throw new Error(
    `the database schema is newer than this controller: it has migration ${status.unknown.at(-1)}, this version knows up to ` +
      `${KNOWN_MIGRATIONS.at(-1)}. Run the BuildMesh version that applied ${status.unknown.at(-1)} (or newer) on every replica`,
  );
}

/**
 * Applies pending migrations. Kysely's Migrator takes a lock (a row lock on its
 * lock table, held for the transaction on PostgreSQL), so replicas and
 * `buildmesh migrate` starting together apply each migration exactly once.
 */
export async function migrate(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<string[]> {
  const status = await migrationStatus(db);
  refuseNewerSchema(status);
  // Up to date (every start after the first): the Migrator, its lock and its sorting are not needed.
  if (status.pending.length === 0) return [];
  const provider: MigrationProvider = {
    async getMigrations() {
      const migrations: Record<string, Migration> = {};
      for (const [name, step] of Object.entries(STEPS)) migrations[name] = { up: (d) => step.up(d, dialect) };
      return migrations;
    },
  };
  const { error, results } = await new Migrator({ db, provider, migrationTableName: TABLE, migrationLockTableName: 'buildmesh_migrations_lock' }).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${String((error as Error)?.message ?? error)}`);
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
