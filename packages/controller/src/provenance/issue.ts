/**
 * An artifact's provenance is issued once, on the first request after the attempt that made it
 * succeeded: the statement is built from the stored facts, signed with the current key and stored;
 * later requests (any replica) answer the stored envelope, so a statement never changes.
 */
import { ApiError, type ArtifactProvenance, type DsseEnvelope } from '@buildmesh/protocol';
import type { Store } from '../store/store.js';
import { nowIso } from '../store/rows.js';
import type { ProvenanceKeys } from './signing-keys.js';
import { provenanceStatement, signStatement } from './statement.js';

export async function artifactProvenance(store: Store, keys: ProvenanceKeys, orgId: string, buildId: string, artifactId: string): Promise<ArtifactProvenance> {
  const artifact = await store.getArtifact(orgId, buildId, artifactId);
  if (!artifact) throw new ApiError('NOT_FOUND', 'no such artifact');
  let stored = await store.getProvenance(orgId, artifactId);
  if (!stored) {
    const build = await store.getBuild(orgId, buildId, { withAttempts: true, withProfile: true });
    const attempt = build?.attempts?.find((a) => a.number === artifact.attemptNumber);
    if (!build || !attempt) throw new ApiError('NOT_FOUND', 'no such artifact');
    if (attempt.status !== 'succeeded') throw new ApiError('CONFLICT', 'provenance is issued once the attempt that made the artifact has succeeded');
    const worker = await store.findWorker(attempt.workerId);
    const key = await keys.signingKey();
    const envelope = signStatement(provenanceStatement({ orgId, build, attempt, artifact, worker }), key);
    stored = await store.putProvenance({ artifact_id: artifactId, build_id: buildId, org_id: orgId, key_id: key.keyid, envelope: JSON.stringify(envelope), created_at: nowIso() });
  }
  const envelope = JSON.parse(stored.envelope) as DsseEnvelope;
  return { envelope, statement: JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')), keyid: stored.keyId, createdAt: stored.createdAt };
}
