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
} as const;

/** Waits for the lock of `key` in `lockClass` until the transaction ends. */
export async function lockForTransaction(trx: Db, lockClass: number, key: string): Promise<void> {
  if (isPostgres(trx)) await sql`select pg_advisory_xact_lock(${lockClass}::int, hashtext(${key}))`.execute(trx);
}
