/**
 * PostgreSQL transaction-scoped advisory locks: every class this controller takes, in one place (two-key
 * locks, so they never meet the sweeper's single-key session lock in scheduler/singleton.ts). On SQLite
 * the one writer already serialises what these serialise, so taking one there does nothing.
 */
import { sql } from 'kysely';
import { isPostgres, type Db } from './rows.js';

export const LOCK_CLASS = {
  /** Capped audit writes of one org and action (queries/audit.ts). */
  cappedAudit: 0x62_6d_61_75, // "bmau"
  /** Submits of one org while BUILDMESH_ORG_MAX_QUEUED is set: the count and the insert are one step. */
  orgQueue: 0x62_6d_71_75, // "bmqu"
  /** Adds of one org's webhooks: the count against MAX_WEBHOOKS_PER_ORG and the insert are one step. */
  orgWebhooks: 0x62_6d_77_68, // "bmwh"
  /** Redeliveries and pings by hand of one webhook: the backlog count and the insert are one step. */
  manualDelivery: 0x62_6d_6d_64, // "bmmd"
  /** Shared-pool claims of one org while BUILDMESH_ORG_MAX_SHARED_RUNNING is set: the count and the take are one step. */
  orgShared: 0x62_6d_73_68, // "bmsh"
} as const;

/** Waits for the lock of `key` in `lockClass` until the transaction ends. */
export async function lockForTransaction(trx: Db, lockClass: number, key: string): Promise<void> {
  if (isPostgres(trx)) await sql`select pg_advisory_xact_lock(${lockClass}::int, hashtext(${key}))`.execute(trx);
}

/** Takes the lock if nobody holds it (until the transaction ends); never waits. Always true on SQLite. */
export async function tryLockForTransaction(trx: Db, lockClass: number, key: string): Promise<boolean> {
  if (!isPostgres(trx)) return true;
  const { rows } = await sql<{ ok: boolean }>`select pg_try_advisory_xact_lock(${lockClass}::int, hashtext(${key})) as ok`.execute(trx);
  return rows[0]!.ok;
}
