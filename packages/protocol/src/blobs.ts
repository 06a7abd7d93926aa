/**
 * Content-addressed uploads. A client names its blobs (sources) by sha256 and
 * size, asks which of them its org already has (POST /v1/blobs/presence), uploads
 * only the missing ones as raw bodies (PUT /v1/blobs/:sha256, application/
 * octet-stream with Content-Length; refused unless the bytes match both), then
 * creates builds with a small JSON request that references the blob. Presence
 * is per org: another org's blob answers "not present".
 */
import { Type, type Static } from 'typebox';
import { Sha256 } from './common.js';
import { CreateBuildSpec } from './builds.js';
import { CredentialsBundle } from './credentials.js';

export const BlobRef = Type.Object({ sha256: Sha256, size: Type.Integer({ minimum: 0 }) }, { additionalProperties: false });
export type BlobRef = Static<typeof BlobRef>;

export const MAX_PRESENCE_BLOBS = 100;
export const BlobPresenceRequest = Type.Object({ blobs: Type.Array(BlobRef, { minItems: 1, maxItems: MAX_PRESENCE_BLOBS }) }, { additionalProperties: false });
export type BlobPresenceRequest = Static<typeof BlobPresenceRequest>;
/** The sha256s of the asked blobs that this org has stored with that size. */
export const BlobPresence = Type.Object({ present: Type.Array(Sha256) });
export type BlobPresence = Static<typeof BlobPresence>;

export const BlobParams = Type.Object({ sha256: Sha256 });

/** POST /v1/builds as application/json: the source is a blob the org uploaded. */
export const CreateBuildRequest = Type.Object(
  { spec: CreateBuildSpec, credentials: Type.Optional(CredentialsBundle), source: BlobRef },
  { additionalProperties: false },
);
export type CreateBuildRequest = Static<typeof CreateBuildRequest>;
