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

/**
 * GET /v1/builds/:id/artifacts/:artifactId/install-link: a link that downloads this one artifact
 * without a token or session until it expires — what an install page's QR code carries, for a
 * tester's phone. Anyone holding it can download the file until then.
 */
export const InstallLink = Type.Object({ url: Type.String(), expiresAt: Timestamp });
export type InstallLink = Static<typeof InstallLink>;
export const InstallLinkParams = Type.Object({ grant: Type.String({ pattern: '^[A-Za-z0-9_-]{40,240}$' }) });
/** How long an install link works. */
export const INSTALL_LINK_TTL_SECONDS = 60 * 60;
