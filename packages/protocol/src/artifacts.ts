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

/**
 * What an iOS application archive (.ipa) says about itself in Payload/<name>.app/Info.plist, read by
 * the worker when it uploads one: what an over-the-air install manifest (itms-services) names. It
 * is build output (attacker input): the controller takes it only in these forms, and escapes it
 * where it writes it. bundleId = CFBundleIdentifier, version = CFBundleShortVersionString, build =
 * CFBundleVersion, title = CFBundleDisplayName or CFBundleName.
 */
export const IosAppInfo = Type.Object(
  {
    bundleId: Type.String({ minLength: 1, maxLength: 155, pattern: '^[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*$' }),
    version: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._+-]+$' }),
    build: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._+-]+$' }),
    title: Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000-\\u001f\\u007f]+$', description: 'any text without control characters' }),
  },
  { additionalProperties: false },
);
export type IosAppInfo = Static<typeof IosAppInfo>;

export const Artifact = Type.Object({
  id: Id('art'),
  buildId: Type.String(),
  attemptNumber: Type.Integer(),
  name: Type.String(),
  kind: ArtifactKind,
  size: Type.Integer(),
  sha256: Sha256,
  createdAt: Timestamp,
  /** An .ipa whose Info.plist the worker read (what makes an iOS install manifest possible). */
  app: Type.Optional(IosAppInfo),
});
export type Artifact = Static<typeof Artifact>;

export const ArtifactList = Type.Object({ artifacts: Type.Array(Artifact) });
export type ArtifactList = Static<typeof ArtifactList>;

/**
 * PUT /v1/attempts/:id/artifacts/:name?kind=… with the declared sha256 header and Content-Length. An
 * .ipa's IosAppInfo travels flat in the query (appBundleId, appVersion, appBuild, appTitle): all four
 * or none.
 */
export const UploadArtifactQuery = Type.Object({
  kind: Type.Optional(ArtifactKind),
  appBundleId: Type.Optional(IosAppInfo.properties.bundleId),
  appVersion: Type.Optional(IosAppInfo.properties.version),
  appBuild: Type.Optional(IosAppInfo.properties.build),
  appTitle: Type.Optional(IosAppInfo.properties.title),
});
export type UploadArtifactQuery = Static<typeof UploadArtifactQuery>;
export const ArtifactParams = Type.Object({ id: Id('bld'), artifactId: Id('art') });

/**
 * GET /v1/builds/:id/artifacts/:artifactId/install-link: a link that downloads this one artifact
 * without a token or session until it expires — what an install page's QR code carries, for a
 * tester's phone. Anyone holding it can download the file until then.
 */
export const InstallLink = Type.Object({
  url: Type.String(),
  expiresAt: Timestamp,
  /**
   * For an .ipa with IosAppInfo: the itms-services manifest (GET, no credentials, same expiry) that
   * an iPhone opens as itms-services://?action=download-manifest&url=<manifestUrl>. iOS installs
   * only from HTTPS addresses.
   */
  manifestUrl: Type.Optional(Type.String()),
});
export type InstallLink = Static<typeof InstallLink>;
export const InstallLinkParams = Type.Object({ grant: Type.String({ pattern: '^[A-Za-z0-9_-]{40,240}$' }) });
/** How long an install link works. */
export const INSTALL_LINK_TTL_SECONDS = 60 * 60;
