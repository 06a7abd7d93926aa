/**
 * The scale-out store: PostgreSQL through a `pg` Pool and Kysely's PostgresDialect,
 * running the same query modules and numbered migrations as SQLite. Several
 * controller replicas share one database; the claim takes rows `FOR UPDATE SKIP
 * LOCKED`, so racing replicas never hand a build out twice. The hot statements run
 * as named statements (pg-statements.ts).
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { KyselyStore } from './kysely-store.js';
import type { Database } from './schema.js';
import { CONNECT_FAILED } from './unavailable.js';
import { isStalePlan, statementName } from './pg-statements.js';

/** Connections per replica (BUILDMESH_DATABASE_POOL_SIZE); LISTEN uses one more of its own. */
export const DEFAULT_POOL_SIZE = 10;

// bigint (int8) arrives as a string by default; our bigints are byte sizes and counts, far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

export interface PostgresStoreOptions {
  poolSize?: number;
  /** Shown in pg_stat_activity (the replica id), so an operator sees which replica holds what. */
  applicationName?: string;
}

export function createPgPool(url: string, options: PostgresStoreOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? DEFAULT_POOL_SIZE,
    application_name: options.applicationName ?? 'buildmesh',
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client whose server went away emits here; without a listener that would crash the process.
  pool.on('error', () => undefined);
  // pg-pool takes that listener off a client it hands out: a connection PostgreSQL ends while a
  // request holds it between queries (a restart, pg_terminate_backend) would emit an unhandled
  // 'error' and kill the process. The request's next query fails instead, and the pool drops it.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
    runHotStatementsNamed(client);
  });
  // A connection that cannot be opened (PostgreSQL down or restarting) is told apart from other
  // failures: the request is answered 503 DATABASE_UNAVAILABLE (store/unavailable.ts), not 500.
  const connect = pool.connect.bind(pool) as (...args: unknown[]) => Promise<pg.PoolClient> | undefined;
  (pool as unknown as { connect: (...args: unknown[]) => unknown }).connect = (...args: unknown[]) => {
    if (args.length > 0) return connect(...args); // the callback form (pool.query) reports through its callback
    return connect()!.catch((err: unknown) => {
      if (err instanceof Error) Object.assign(err, { [CONNECT_FAILED]: true });
      throw err;
    });
  };
  return pool;
}

type QueryFn = (...args: unknown[]) => unknown;

/**
 * Kysely calls `client.query(text, values)`; a registered hot text (pg-statements.ts) is sent as a
 * named statement instead, parsed and planned once per connection. A named statement PostgreSQL
 * no longer accepts on this connection (its table changed under it) runs unnamed from then on.
 */
function runHotStatementsNamed(client: pg.PoolClient): void {
  const query = client.query.bind(client) as QueryFn;
  const stale = new Set<string>();
  (client as unknown as { query: QueryFn }).query = (...args: unknown[]) => {
    const [text, values] = args;
    const name = args.length === 2 && typeof text === 'string' && Array.isArray(values) ? statementName(text) : undefined;
    if (name === undefined || stale.has(name)) return query(...args);
    return (query({ name, text, values }) as Promise<unknown>).catch((err: unknown) => {
      if (!isStalePlan(err)) throw err;
      stale.add(name);
      // Outside a transaction the statement runs again, unnamed; inside one the transaction has failed already
      // (25P02: the stale plan is the cause). Any other failure of the second run is its own (a lost connection: 503).
      return (query(text, values) as Promise<unknown>).catch((again: unknown) => Promise.reject((again as { code?: unknown }).code === '25P02' ? err : again));
    });
  };
}

export class PostgresStore extends KyselyStore {
  constructor(
    db: Kysely<Database>,
    readonly pool: pg.Pool,
    readonly url: string,
  ) {
    super(db, 'postgres');
  }
}

/** Opens the pool and applies pending migrations (`migrate: false` leaves the schema alone, for `buildmesh migrate --status`). */
export async function openPostgresStore(url: string, options: PostgresStoreOptions & { migrate?: boolean } = {}): Promise<PostgresStore> {
  const pool = createPgPool(url, options);
  const store = new PostgresStore(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), pool, url);
  try {
    await store.ping();
    if (options.migrate ?? true) await store.migrate();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  return store;
}

/** The database URL without its password, for logs and messages. */
export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable url)';
  }
}
