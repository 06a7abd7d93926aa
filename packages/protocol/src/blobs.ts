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
import { ArtifactKind, IosAppInfo } from './artifacts.js';
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

/**
 * POST /v1/blobs/uploads (a BlobRef) answers how to send the bytes: `direct` = PUT exactly `size` bytes
 * to `url` (a presigned URL of the object store, valid until `expiresAt`, for one new key), then POST
 * /v1/blobs/uploads/complete with `uploadId`: the controller reads the object back and checks its size
 * and sha256 before the blob becomes present. `proxy` = PUT /v1/blobs/:sha256 to the controller.
 */
export const BlobUploadTicket = Type.Union([
  Type.Object({ mode: Type.Literal('direct'), url: Type.String(), uploadId: Type.String(), expiresAt: Type.String() }),
  Type.Object({ mode: Type.Literal('proxy') }),
]);
export type BlobUploadTicket = Static<typeof BlobUploadTicket>;
export const CompleteBlobUploadRequest = Type.Object({ uploadId: Type.String({ minLength: 1, maxLength: 4096 }) }, { additionalProperties: false });
export type CompleteBlobUploadRequest = Static<typeof CompleteBlobUploadRequest>;

/** POST /v1/attempts/:id/artifacts/:name/uploads: the worker names the file; the answer is a BlobUploadTicket. */
export const ArtifactUploadRequest = BlobRef;
/** POST /v1/attempts/:id/artifacts/:name/uploads/complete after a direct upload: the controller verifies, then records the artifact. */
export const CompleteArtifactUploadRequest = Type.Object(
  { uploadId: Type.String({ minLength: 1, maxLength: 4096 }), kind: Type.Optional(ArtifactKind), app: Type.Optional(IosAppInfo) },
  { additionalProperties: false },
);
export type CompleteArtifactUploadRequest = Static<typeof CompleteArtifactUploadRequest>;
