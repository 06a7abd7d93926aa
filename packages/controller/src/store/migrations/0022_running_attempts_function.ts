import { sql, type Kysely } from 'kysely';

/**
 * PostgreSQL: a worker's running attempts, counted by a VOLATILE function. Read Committed gives
 * each query inside a volatile function a fresh snapshot, so the one-statement claim
 * (claim-org-pg.ts) counts after it has locked the worker's row — every claim of that worker that
 * held the lock before it (through any replica, of this release or the previous one) is counted, as
 * the transactional claim counts in a statement after its lock. SQLite needs none: one writer.
 */
export async function up(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  if (dialect !== 'postgres') return;
  await sql`create or replace function buildmesh_running_attempts(worker text) returns bigint
    language plpgsql volatile as $$
    begin
      return (select count(*) from attempts where worker_id = worker and status = 'running');
    end $$`.execute(db);
}
