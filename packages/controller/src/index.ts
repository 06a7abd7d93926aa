/**
 * The controller as a library: `startController` opens (or creates) the data
 * dir, the store, the blobs and the key, bootstraps the default org and the
 * instance admin token, and serves the API until `close()`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import type { FastifyBaseLogger } from 'fastify';
import { resolveOptions, onlineWindowMs, type ControllerOptions } from './config.js';
import { hostname } from 'node:os';
import { loadKeyring, verifyKey } from './crypto/keyring.js';
import { finishRotation, keyFileOf } from './crypto/rotate-key.js';
import { openSqliteStore } from './store/sqlite.js';
import type { PostgresStore } from './store/postgres.js';
import type * as MigrateDatabaseModule from './migrate-database.js';
import type * as MigrateStoreModule from './migrate-store.js';
import type { Store } from './store/store.js';
import { openBlobStore } from './blobs/open.js';
import { BlobPins } from './blobs/pins.js';
import { bootstrap } from './bootstrap.js';
import { DATABASE_FILE } from './backup.js';
import { ShutdownSignal, type ControllerContext } from './context.js';
import { ControllerMetrics, type ReplicaFigures } from './metrics.js';
import { ClaimWaiters } from './scheduler/claim-waiters.js';
import { InProcessWakeups, type Wakeups } from './scheduler/wakeups.js';
import type { PgWakeups } from './scheduler/pg-wakeups.js';
import { ALWAYS, type Singleton } from './scheduler/singleton.js';
import { startSweeper } from './scheduler/sweeper.js';
import { startRetention } from './scheduler/retention.js';
import { startWebhookDeliverer } from './scheduler/webhook-deliverer.js';
import { buildServer } from './server.js';
import { StreamQuota } from './http/sse.js';

export { resolveOptions, CONTROLLER_SETTINGS, ConfigError, type ControllerOptions, type SettingInfo } from './config.js';
export { backupDataDir, restoreDataDir, DATABASE_FILE, type BackupResult } from './backup.js';
export type { MigrateReport } from './migrate-database.js';
export type { MigrateStoreReport } from './migrate-store.js';
// Loaded on call: both bring the pg driver, which a controller start must not pay for.
export const migrateDatabase: typeof MigrateDatabaseModule.migrateDatabase = async (...args) => (await import('./migrate-database.js')).migrateDatabase(...args);
export const migrateStore: typeof MigrateStoreModule.migrateStore = async (...args) => (await import('./migrate-store.js')).migrateStore(...args);

export interface RunningController {
  url: string;
  options: ControllerOptions;
  /** The instance admin token generated on this (first) start; null when it existed or came from the environment. */
  generatedAdminToken: string | null;
  close(): Promise<void>;
}

/** In-flight requests get this long to finish on shutdown; then their connections are cut. */
const SHUTDOWN_GRACE_MS = 10_000;

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function createLogger(level: ControllerOptions['logLevel']): Logger {
  return pino(
    {
      level,
      name: 'buildmesh-controller',
      redact: {
        paths: [
          'req.headers.authorization',
          'headers.authorization',
          'authorization',
          '*.secret',
          '*.credential',
          '*.credentials',
          '*.password',
          '*.adminToken',
          '*.encryptionKey',
        ],
        censor: '[redacted]',
      },
    },
    // Synchronous: lines are rare (no per-request logging) and none may be lost on exit.
    pino.destination({ fd: 2, sync: true }),
  );
}

function replicaFigures(store: PostgresStore, wakeups: PgWakeups, singleton: Singleton, replica: string): () => ReplicaFigures {
  return () => ({
    replica,
    pool: { total: store.pool.totalCount, idle: store.pool.idleCount, waiting: store.pool.waitingCount },
    wakeupsReceived: wakeups.received,
    wakeupLagMs: wakeups.lastLagMs,
    runsSweeper: singleton.held,
  });
}

function urlOf(address: AddressInfo): string {
  const host = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

/** The scale-out modules and the pg driver load only when a database URL is set: an embedded start never pays for them. */
async function loadPostgresModules() {
  const [{ openPostgresStore, redactDatabaseUrl }, { PgWakeups }, { PgAdvisorySingleton }] = await Promise.all([
    import('./store/postgres.js'),
    import('./scheduler/pg-wakeups.js'),
    import('./scheduler/singleton.js'),
  ]);
  return { openPostgresStore, redactDatabaseUrl, PgWakeups, PgAdvisorySingleton };
}

export async function startController(partial: Partial<ControllerOptions> = {}): Promise<RunningController> {
  const options = resolveOptions(partial);
  const logger = createLogger(options.logLevel);
  const log = logger as unknown as FastifyBaseLogger;

  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  await chmod(options.dataDir, 0o700); // an existing data dir too: it holds the key and every org's data
  const databaseFile = join(options.dataDir, DATABASE_FILE);
  const replicaId = options.replicaId ?? `${hostname()}-${process.pid}`;
  const databaseUrl = options.databaseUrl;
  const keyring = await loadKeyring({
    dataDir: options.dataDir,
    encryptionKey: options.encryptionKey,
    encryptionKeyFile: options.encryptionKeyFile,
    databaseExists: databaseUrl !== null || existsSync(databaseFile),
  });
  const postgres = databaseUrl ? await loadPostgresModules() : undefined;
  const store: Store = databaseUrl && postgres
    ? await postgres.openPostgresStore(databaseUrl, { poolSize: options.databasePoolSize, applicationName: `buildmesh ${replicaId}` }).catch((err: Error) => {
        throw new Error(`PostgreSQL at ${postgres.redactDatabaseUrl(databaseUrl)}: ${err.message}`);
      })
    : await openSqliteStore(databaseFile, { synchronous: options.sqliteSynchronous === 'full' ? 'FULL' : 'NORMAL' });
  const singleton: Singleton = databaseUrl && postgres ? new postgres.PgAdvisorySingleton(databaseUrl, replicaId, log) : ALWAYS;
  let pgWakeups: PgWakeups | undefined;
  try {
    await store.migrate();
    store.setOrgLimits({ maxQueued: options.orgMaxQueued, maxSharedRunning: options.orgMaxSharedRunning });
    // Refuse a key that cannot open what the other replicas (or an earlier start) sealed.
    await verifyKey(store, keyring);
    // A key rotation a crash interrupted (the key file holds two keys): finish it before serving.
    const keyFile = keyFileOf(options);
    if (keyFile && keyring.entries().length > 1) log.warn({ resealed: await finishRotation(store, keyring, keyFile) }, 'finished an interrupted key rotation');
    // Workers could not heartbeat while we were down: give live leases one fresh TTL rather than lapsing them all.
    // With replicas, only when no other replica runs the sweeper (they were all down): otherwise the leases are current.
    const extended = (await singleton.holds()) ? await store.extendLiveLeases(options.leaseTtlMs) : 0;
    // Replicas share the blob directory: a starting replica must not delete another one's uploads in progress.
    const blobs = await openBlobStore(options, databaseUrl !== null);
    const { generatedAdminToken } = await bootstrap(store, options, log);

    if (databaseUrl && postgres) {
      pgWakeups = new postgres.PgWakeups((store as PostgresStore).pool, databaseUrl, store, replicaId, log);
      await pgWakeups.start();
    }
    const wakeups: Wakeups = pgWakeups ?? new InProcessWakeups();
    const waiters = new ClaimWaiters(store, wakeups, log);
    const onlineWithinMs = onlineWindowMs(options);
    const ctx: ControllerContext = {
      options,
      store,
      blobs,
      pins: new BlobPins(),
      keyring,
      wakeups,
      waiters,
      metrics: new ControllerMetrics(store, onlineWithinMs, () => waiters.size, pgWakeups ? replicaFigures(store as PostgresStore, pgWakeups, singleton, replicaId) : undefined),
      timing: { heartbeatIntervalMs: options.heartbeatIntervalMs, leaseTtlMs: options.leaseTtlMs, claimWaitMs: options.claimWaitMs },
      onlineWithinMs,
      startedAt: Date.now(),
      replicaId,
      version: VERSION,
      shutdown: new ShutdownSignal(),
      streams: new StreamQuota(options.orgMaxStreams),
      webhooks: startWebhookDeliverer(
        store,
        keyring,
        { allowPrivate: options.webhookAllowPrivate === 1, retryBaseMs: options.webhookRetryBaseMs, userAgent: `BuildMesh-Webhooks/${VERSION}` },
        log,
      ),
    };
    const app = await buildServer(ctx, log);
    await app.listen({ port: options.port, host: options.host });
    const url = urlOf(app.server.address() as AddressInfo);
    const sweeper = startSweeper(store, wakeups, options.sweepIntervalMs, log, singleton, onlineWithinMs);
    const retention = startRetention(store, blobs, ctx.pins, options, log, singleton);
    log.info({ url, dataDir: options.dataDir, store: store.dialect, replicaId, version: VERSION, leasesExtended: extended, startupMs: Math.round(performance.now()) }, 'controller started');

    let closing: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        // New requests get 503; parked claims answer 204; log follows end.
        ctx.shutdown.trigger();
        waiters.close();
        await Promise.all([sweeper.stop(), retention.stop(), ctx.webhooks.stop()]);
        await singleton.close();
        const force = setTimeout(() => app.server.closeAllConnections(), SHUTDOWN_GRACE_MS);
        try {
          await app.close();
        } finally {
          clearTimeout(force);
        }
        await pgWakeups?.close();
        await store.close();
        log.info('controller stopped');
      })());

    return { url, options, generatedAdminToken, close };
  } catch (err) {
    await pgWakeups?.close().catch(() => undefined);
    await singleton.close();
    await store.close().catch(() => undefined);
    throw err;
  }
}
