import type { Kysely } from 'kysely';
import { ApiError, type Artifact, type ArtifactKind, type IosAppInfo } from '@buildmesh/protocol';
import { nowIso, toArtifact } from '../rows.js';
import type { Database } from '../schema.js';
import { requireLiveAttempt } from './attempt-for-worker.js';
import { isUniqueViolation } from './unique-violation.js';

/**
 * Records an uploaded artifact (its blob is already stored and verified). A
 * re-upload of the same name with the same bytes is the same artifact; with other
 * bytes it is a conflict, never a silent replacement.
 */
export async function addArtifact(
  db: Kysely<Database>,
  workerId: string,
  attemptId: string,
  a: { id: string; name: string; kind: ArtifactKind; size: number; sha256: string; app?: IosAppInfo },
): Promise<Artifact> {
  return db.transaction().execute(async (trx) => {
    const attempt = await requireLiveAttempt(trx, workerId, attemptId);
    const existing = await trx.selectFrom('artifacts').selectAll().where('attempt_id', '=', attemptId).where('name', '=', a.name).executeTakeFirst();
    if (existing) {
      if (existing.sha256 === a.sha256) return toArtifact(existing);
      throw new ApiError('CONFLICT', `artifact "${a.name}" was already uploaded with different content`);
    }
    const row = {
      id: a.id,
      build_id: attempt.buildId,
      attempt_id: attemptId,
      attempt_number: attempt.number,
      org_id: attempt.orgId,
      name: a.name,
      kind: a.kind,
      size: a.size,
      sha256: a.sha256,
      created_at: nowIso(),
      app_bundle_id: a.app?.bundleId ?? null,
      app_version: a.app?.version ?? null,
      app_build: a.app?.build ?? null,
      app_title: a.app?.title ?? null,
    };
    await trx.insertInto('artifacts').values(row).execute();
    return toArtifact(row);
  }).catch(async (err: unknown) => {
    // Two uploads of one name racing (a retry while the first still commits): the loser reads the winner.
    if (!isUniqueViolation(err)) throw err;
    const winner = await db.selectFrom('artifacts').selectAll().where('attempt_id', '=', attemptId).where('name', '=', a.name).executeTakeFirstOrThrow();
    if (winner.sha256 === a.sha256) return toArtifact(winner);
    throw new ApiError('CONFLICT', `artifact "${a.name}" was already uploaded with different content`);
  });
}
