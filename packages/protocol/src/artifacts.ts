import { Type, type Static } from 'typebox';
import { Id, Sha256, Timestamp } from './common.js';

/** EAS's managed artifact kinds, lower-cased. */
export const ArtifactKind = Type.Union([
  Type.Literal('application-archive'),
  Type.Literal('build-artifacts'),
  Type.Literal('other'),
]);
export type ArtifactKind = Static<typeof ArtifactKind>;

/** File names travel in URLs and land in users' download folders: no separators, no leading dot. */
export const ArtifactName = Type.String({ pattern: '^[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,199}$' });

export const Artifact = Type.Object({
  id: Id('art'),
  buildId: Type.String(),
  attemptNumber: Type.Integer(),
  name: Type.String(),
  kind: ArtifactKind,
  size: Type.Integer(),
  sha256: Sha256,
  createdAt: Timestamp,
});
export type Artifact = Static<typeof Artifact>;

export const ArtifactList = Type.Object({ artifacts: Type.Array(Artifact) });
export type ArtifactList = Static<typeof ArtifactList>;

/** PUT /v1/attempts/:id/artifacts/:name?kind=… with the declared sha256 header and Content-Length. */
export const UploadArtifactQuery = Type.Object({ kind: Type.Optional(ArtifactKind) });
export const ArtifactParams = Type.Object({ id: Id('bld'), artifactId: Id('art') });
