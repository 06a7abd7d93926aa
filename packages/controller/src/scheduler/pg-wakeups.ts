/**
 * Wake-ups between replicas over PostgreSQL LISTEN/NOTIFY. Every event is
 * delivered in this process at once (as InProcessWakeups does) and published on
 * one channel; the other replicas' events arrive on a dedicated LISTEN
 * connection and are delivered to this replica's listeners.
 *
 * Events are hints (every listener re-reads the store), so a lost notification
 * costs latency only, and that latency is bounded. Notifications are lost only
 * while a LISTEN connection is down (a failed publish is retried): on reconnect
 * every listener looks again at once; besides, every `recheckMs` the head of every
 * queue lane is offered to parked claims again (one query), and every
 * FOLLOWER_RECHECK_EVERY re-checks each log follower looks again. Publishing is
 * coalesced into one `pg_notify` round trip per event loop turn, and while one is out, into the next.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Platform } from '@buildmesh/protocol';
import pg from 'pg';
import type { Store } from '../store/store.js';
import { InProcessWakeups, type BuildEvent, type BuildQueuedEvent, type Wakeups } from './wakeups.js';

export const WAKEUP_CHANNEL = 'buildmesh_wakeups';
/** PostgreSQL refuses payloads of 8000 bytes or more (bytes of UTF-8, not characters). */
const MAX_PAYLOAD_BYTES = 7900;
const RECONNECT_MS = 500;
/** Queue lanes whose head the re-check offers (one correlated probe each). */
const RECHECK_LANES = 1000;
/** Followers re-read two queries each, so they are poked on every 5th re-check only (plus at once after a reconnect). */
const FOLLOWER_RECHECK_EVERY = 5;

/** r: the publishing replica, a: when it published (ms since the epoch, for the lag figure). */
type Message =
  | { r: string; a: number; t: 'q'; b: string; o: string | null; p: Platform | null; l: Record<string, string> }
  | { r: string; a: number; t: 'l' | 's'; b: string };

export class PgWakeups implements Wakeups {
  private readonly local = new InProcessWakeups();
  private readonly pending = new Map<string, string>();
  private flushing = false;
  private listener: pg.Client | undefined;
  private closed = false;
  private recheckTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private rechecking = false;
  private rechecks = 0;
  private retries = 0;
  /** Notifications received from other replicas, and the last one's publish-to-delivery lag (for /metrics). */
  received = 0;
  lastLagMs = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
    private readonly store: Store,
    private readonly replicaId: string,
    private readonly log: FastifyBaseLogger,
    private readonly recheckMs = 1000,
  ) {}

  /** Connects the LISTEN connection (retrying in the background if it fails later) and starts the re-check. */
  async start(): Promise<void> {
    await this.listen();
    this.recheckTimer = setInterval(() => void this.recheck(), this.recheckMs);
    this.recheckTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.recheckTimer);
    clearTimeout(this.reconnectTimer);
    await this.flush();
    await this.listener?.end().catch(() => undefined);
  }

  buildQueued(event: BuildQueuedEvent): void {
    this.local.buildQueued(event);
    this.publish(`q:${event.buildId}`, { r: this.replicaId, a: Date.now(), t: 'q', b: event.buildId, o: event.orgId, p: event.platform, l: event.labels });
  }

  logAppended(buildId: string): void {
    this.local.logAppended(buildId);
    this.publish(`l:${buildId}`, { r: this.replicaId, a: Date.now(), t: 'l', b: buildId });
  }

  buildChanged(buildId: string): void {
    this.local.buildChanged(buildId);
    this.publish(`s:${buildId}`, { r: this.replicaId, a: Date.now(), t: 's', b: buildId });
  }

  onBuildQueued(listener: (event: BuildQueuedEvent) => void): () => void {
    return this.local.onBuildQueued(listener);
  }

  onBuild(buildId: string, listener: (event: BuildEvent) => void): () => void {
    return this.local.onBuild(buildId, listener);
  }

  private publish(key: string, message: Message): void {
    if (this.closed) return;
    let payload = JSON.stringify(message);
    // Oversized label sets travel without labels: any waiter of the platform may try (the claim decides).
    if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES && message.t === 'q') payload = JSON.stringify({ ...message, l: {} });
    this.pending.set(key, payload);
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => void this.flush());
    }
  }

  /**
   * One `pg_notify` round trip out at a time: the events published while it is out go together in
   * the next one (under load, one round trip carries many requests' events; idle, none waits).
   */
  private async flush(): Promise<void> {
    while (this.pending.size > 0) {
      const payloads = [...this.pending.values()];
      this.pending.clear();
      try {
        await this.notify(payloads);
      } catch (err) {
        if (this.closed) break;
        // The server refused the batch itself (not the connection): one payload must not hold every later
        // wake-up, so each is sent alone once and what is still refused is dropped (a hint: the re-check covers it).
        const retry = isServerRefusal(err) ? await this.notifyEach(payloads) : payloads;
        if (retry.length === 0) continue;
        this.log.warn({ err }, 'publishing wake-ups failed; retrying');
        // Put them back (newer events for the same key win) and try again shortly.
        const [keys, values] = [[...this.pending.keys()], [...this.pending.values()]];
        this.pending.clear();
        for (const p of retry) this.pending.set(`retry:${++this.retries}`, p);
        keys.forEach((k, i) => this.pending.set(k, values[i]!));
        setTimeout(() => void this.flush(), RECONNECT_MS).unref(); // still flushing: publish() schedules nothing meanwhile
        return;
      }
    }
    this.flushing = false;
  }

  private async notify(payloads: string[]): Promise<void> {
    await this.pool.query('select pg_notify($1, p) from unnest($2::text[]) as p', [WAKEUP_CHANNEL, payloads]);
  }

  /** Sends each payload alone; answers those that failed for a reason other than the server refusing them. */
  private async notifyEach(payloads: string[]): Promise<string[]> {
    const retry: string[] = [];
    for (const payload of payloads) {
      try {
        await this.notify([payload]);
      } catch (err) {
        if (isServerRefusal(err)) this.log.warn({ err, bytes: Buffer.byteLength(payload) }, 'a wake-up was refused by PostgreSQL and dropped');
        else retry.push(payload);
      }
    }
    return retry;
  }

  private deliver(payload: string | undefined): void {
    if (!payload) return;
    let message: Message;
    try {
      message = JSON.parse(payload) as Message;
    } catch {
      return;
    }
    if (message.r === this.replicaId) return; // delivered locally already
    this.received++;
    if (typeof message.a === 'number') this.lastLagMs = Math.max(0, Date.now() - message.a); // across hosts: includes clock skew
    if (message.t === 'q') this.local.buildQueued({ buildId: message.b, orgId: message.o, platform: message.p, labels: message.l ?? {} });
    else if (message.t === 'l') this.local.logAppended(message.b);
    else this.local.buildChanged(message.b);
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: `buildmesh ${this.replicaId} listen` });
    const lost = (err?: Error): void => {
      if (this.listener !== client) return;
      this.listener = undefined;
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      if (this.closed) return;
      this.log.warn({ err }, 'wake-up connection lost; reconnecting');
      this.reconnectTimer = setTimeout(() => void this.reconnect(), RECONNECT_MS);
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (msg) => this.deliver(msg.payload));
    await client.connect();
    await client.query(`listen ${WAKEUP_CHANNEL}`);
    this.listener = client;
  }

  private async reconnect(): Promise<void> {
    if (this.closed) return;
    try {
      await this.listen();
      // Whatever was published while we were not listening: look now rather than at the next re-check.
      void this.recheck(true);
    } catch (err) {
      this.log.warn({ err }, 'wake-up connection failed; retrying');
      this.reconnectTimer = setTimeout(() => void this.reconnect(), RECONNECT_MS * 2);
    }
  }

  /** Offers every queue lane's head to parked claims; now and then (or after a reconnect) pokes every log follower. */
  private async recheck(everything = false): Promise<void> {
    if (this.rechecking || this.closed) return;
    this.rechecking = true;
    try {
      if (everything || ++this.rechecks % FOLLOWER_RECHECK_EVERY === 0) this.local.pokeAll();
      for (const hint of await this.store.queuedHints(RECHECK_LANES)) this.local.buildQueued(hint);
    } catch (err) {
      this.log.warn({ err }, 'wake-up re-check failed');
    } finally {
      this.rechecking = false;
    }
  }
}

/** An error the server answered about the statement (an SQLSTATE outside connection, resource and shutdown classes). */
function isServerRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !/^(08|53|57)/.test(code);
}
