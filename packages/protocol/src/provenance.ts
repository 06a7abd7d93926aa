/**
 * Signed provenance: for each artifact an in-toto Statement v1 with a SLSA Provenance v1 predicate,
 * in a DSSE envelope signed with the instance's Ed25519 key. The keys are published (old ones kept
 * for verification) at PROVENANCE_KEYS_PATH. `dssePae` is the exact byte string a signature covers.
 */
import { Type, type Static } from 'typebox';
import { Timestamp } from './common.js';

export const PROVENANCE_KEYS_PATH = '/.well-known/buildmesh-provenance-keys';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const IN_TOTO_STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const SLSA_PROVENANCE_TYPE = 'https://slsa.dev/provenance/v1';
export const BUILDMESH_BUILD_TYPE = 'https://buildmesh.dev/build-type/expo/v1';

export const DsseEnvelope = Type.Object({
  payloadType: Type.String(),
  /** base64 of the statement's JSON bytes. */
  payload: Type.String(),
  signatures: Type.Array(Type.Object({ keyid: Type.String(), sig: Type.String() })),
});
export type DsseEnvelope = Static<typeof DsseEnvelope>;

export const ProvenanceKey = Type.Object({
  /** sha256 (hex) of the public key's SPKI DER encoding. */
  keyid: Type.String(),
  algorithm: Type.Literal('ed25519'),
  /** SPKI PEM: `buildmesh verify --key` takes this file (or this whole document). */
  publicKeyPem: Type.String(),
  createdAt: Timestamp,
  /** Set once a newer key signs; a retired key still verifies what it signed. */
  retiredAt: Type.Union([Timestamp, Type.Null()]),
});
export type ProvenanceKey = Static<typeof ProvenanceKey>;
export const ProvenanceKeyList = Type.Object({ keys: Type.Array(ProvenanceKey) });
export type ProvenanceKeyList = Static<typeof ProvenanceKeyList>;

export const ArtifactProvenance = Type.Object({
  envelope: DsseEnvelope,
  /** The envelope's payload, decoded (for reading; verify the envelope, not this). */
  statement: Type.Unknown(),
  keyid: Type.String(),
  createdAt: Timestamp,
});
export type ArtifactProvenance = Static<typeof ArtifactProvenance>;

/** The statement's shape as BuildMesh writes it (the fields `buildmesh verify` reads). */
export interface ProvenanceStatement {
  _type: string;
  subject: Array<{ name: string; digest: { sha256: string } }>;
  predicateType: string;
  predicate: {
    buildDefinition: {
      buildType: string;
      externalParameters: Record<string, unknown>;
      internalParameters: Record<string, unknown>;
      resolvedDependencies: Array<{ uri: string; digest: Record<string, string> }>;
    };
    runDetails: {
      builder: { id: string; version: Record<string, string> };
      metadata: { invocationId: string; startedOn: string; finishedOn: string };
    };
  };
}

/** DSSE pre-authentication encoding: "DSSEv1" SP len(type) SP type SP len(body) SP body. */
export function dssePae(payloadType: string, payload: Uint8Array): Uint8Array {
  const enc = new TextEncoder();
  const type = enc.encode(payloadType);
  const head = enc.encode(`DSSEv1 ${type.length} ${payloadType} ${payload.length} `);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
}
