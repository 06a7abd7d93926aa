/**
 * Which replica runs the singletons (sweeper, retention). With SQLite there is
 * one controller: always this one. With PostgreSQL, whichever replica holds a
 * session advisory lock on its own connection: when that replica dies its
 * connection closes, PostgreSQL releases the lock, and the next replica to ask
 * (every sweep interval) takes over.
 */
import type { FastifyBaseLogger } from 'fastify';
import type pg from 'pg';

export interface Singleton {
  /** True while this replica holds the role; tries to take it when free. */
  holds(): Promise<boolean>;
  /** The answer of the last holds() (for /metrics). */
  readonly held: boolean;
  close(): Promise<void>;
}

export const ALWAYS: Singleton = { holds: async () => true, held: true, close: async () => undefined };

/** The advisory lock key: "bmsweep" as a 64-bit number, fixed so every version agrees. */
export const SINGLETON_LOCK_KEY = 0x626d7377656570n;

export class PgAdvisorySingleton implements Singleton {
  private client: pg.Client | undefined;
  held = false;

  constructor(
    private readonly url: string,
    private readonly replicaId: string,
    private readonly log: FastifyBaseLogger,
  ) {}

  async holds(): Promise<boolean> {
    try {
      if (!this.client) {
        // The driver loads with the first PostgreSQL singleton: an embedded controller never loads it.
        const { default: driver } = await import('pg');
        const client = new driver.Client({ connectionString: this.url, application_name: `buildmesh ${this.replicaId} singleton` });
        const drop = (): void => {
          if (this.client !== client) return;
          if (this.held) this.log.warn('lost the sweeper lock connection');
          this.client = undefined;
          this.held = false;
          void client.end().catch(() => undefined);
        };
        client.on('error', drop);
        client.on('end', drop);
        await client.connect();
        this.client = client;
      }
      if (this.held) {
        await this.client.query('select 1'); // the lock lives as long as this connection: check it is alive
        return this.held;
      }
      const r = await this.client.query<{ ok: boolean }>('select pg_try_advisory_lock($1::bigint) as ok', [SINGLETON_LOCK_KEY.toString()]);
      this.held = r.rows[0]!.ok;
      if (this.held) this.log.info({ replicaId: this.replicaId }, 'this replica runs the sweeper and retention');
      return this.held;
    } catch (err) {
      this.log.warn({ err }, 'sweeper lock check failed');
      const client = this.client;
      this.client = undefined;
      this.held = false;
      await client?.end().catch(() => undefined);
      return false;
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.held = false;
    await client?.end().catch(() => undefined);
  }
}
