import type { Kysely } from 'kysely';

/**
 * The shared pool's fair order counts the tied orgs' running builds on every claim
 * (fair-share.ts: runningByOrg, orgsAtSharedLimit). With this index the count reads index entries
 * of those orgs only, instead of every running attempt's table row, and needs no sort to group.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('attempts_running_org').on('attempts').columns(['status', 'org_id']).execute();
}
