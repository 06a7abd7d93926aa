import { ApiError, type Build } from '@buildmesh/protocol';
import { nowIso, selectBuilds, toBuild, type Db } from '../rows.js';
import { emitBuildEvent } from './webhook-events.js';

/**
 * Queued → canceled at once. Running → canceled now for the user, with
 * cancel_requested set so the attempt's next heartbeat reply tells the worker to
 * stop; the attempt itself ends when the worker reports or its lease lapses.
 */
export async function cancelBuild(db: Db, orgId: string, id: string): Promise<Build | undefined> {
  const row = await selectBuilds(db).where('builds.id', '=', id).where('builds.org_id', '=', orgId).executeTakeFirst();
  if (!row) return undefined;
  if (row.status !== 'queued' && row.status !== 'running') throw new ApiError('BUILD_NOT_CANCELABLE', `the build has already ended (${row.status})`);
  const now = nowIso();
  const changes = {
    status: 'canceled',
    cancel_requested: 1,
    finished_at: now,
    error_code: 'BUILD_CANCELED',
    error_message: 'canceled by a user',
  };
  const result = await db.updateTable('builds').set(changes).where('id', '=', id).where('status', '=', row.status).executeTakeFirst();
  // Lost a race with a claim or a finish: look again with the new state.
  if (Number(result.numUpdatedRows) === 0) return cancelBuild(db, orgId, id);
  await emitBuildEvent(db, id, 'build.canceled');
  return toBuild({ ...row, ...changes });
}
