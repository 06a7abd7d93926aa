/**
 * What a provenance statement says about one artifact, and its DSSE signature. The facts come from
 * the store (the build's spec and source, the attempt that made the artifact, its worker); signing
 * is one Ed25519 signature over the DSSE pre-authentication encoding of the statement's bytes.
 */
import { sign } from 'node:crypto';
import {
  BUILDMESH_BUILD_TYPE,
  dssePae,
  IN_TOTO_PAYLOAD_TYPE,
  IN_TOTO_STATEMENT_TYPE,
  SLSA_PROVENANCE_TYPE,
  type Artifact,
  type Attempt,
  type Build,
  type DsseEnvelope,
  type ProvenanceStatement,
} from '@buildmesh/protocol';
import type { WorkerRecord } from '../store/store.js';
import type { SigningKey } from './signing-keys.js';

export interface ProvenanceFacts {
  orgId: string;
  build: Build;
  attempt: Attempt;
  artifact: Artifact;
  worker: Pick<WorkerRecord, 'id' | 'name' | 'labels' | 'toolchains' | 'version'> | undefined;
}

export function provenanceStatement(f: ProvenanceFacts): ProvenanceStatement {
  const { build, attempt, artifact } = f;
  return {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: [{ name: artifact.name, digest: { sha256: artifact.sha256 } }],
    predicateType: SLSA_PROVENANCE_TYPE,
    predicate: {
      buildDefinition: {
        buildType: BUILDMESH_BUILD_TYPE,
        externalParameters: { project: build.project, platform: build.platform, profile: build.profile ?? { name: build.profileName }, labels: build.labels },
        internalParameters: {
          orgId: f.orgId,
          buildId: build.id,
          attemptNumber: attempt.number,
          worker: { id: attempt.workerId, name: f.worker?.name ?? attempt.workerName, labels: f.worker?.labels ?? {} },
        },
        resolvedDependencies: [
          { uri: `buildmesh:source/${build.source.sha256}`, digest: { sha256: build.source.sha256, ...(build.gitCommit ? { gitCommit: build.gitCommit } : {}) } },
        ],
      },
      runDetails: {
        builder: { id: `buildmesh:worker/${attempt.workerId}`, version: { buildmesh: f.worker?.version ?? 'unknown', ...(f.worker?.toolchains ?? {}) } },
        metadata: { invocationId: attempt.id, startedOn: attempt.startedAt, finishedOn: attempt.finishedAt ?? artifact.createdAt },
      },
    },
  };
}

export function signStatement(statement: ProvenanceStatement, key: SigningKey): DsseEnvelope {
  const payload = Buffer.from(JSON.stringify(statement), 'utf8');
  const sig = sign(null, dssePae(IN_TOTO_PAYLOAD_TYPE, payload), key.privateKey);
  return { payloadType: IN_TOTO_PAYLOAD_TYPE, payload: payload.toString('base64'), signatures: [{ keyid: key.keyid, sig: sig.toString('base64') }] };
}
