/**
 * The IosAppInfo a worker sends with an upload (the protocol's schema has already checked each field's
 * form): all four fields or none, and only on an .ipa uploaded as the application archive.
 */
import { ApiError, type ArtifactKind, type IosAppInfo, type UploadArtifactQuery } from '@buildmesh/protocol';

/** The flat query form of a proxied upload, as one IosAppInfo (or none). */
export function appInfoFromQuery(q: UploadArtifactQuery): IosAppInfo | undefined {
  const fields = [q.appBundleId, q.appVersion, q.appBuild, q.appTitle];
  if (fields.every((f) => f === undefined)) return undefined;
  if (q.appBundleId === undefined || q.appVersion === undefined || q.appBuild === undefined || q.appTitle === undefined) {
    throw new ApiError('VALIDATION_FAILED', 'querystring: appBundleId, appVersion, appBuild and appTitle come together or not at all');
  }
  return { bundleId: q.appBundleId, version: q.appVersion, build: q.appBuild, title: q.appTitle };
}

/** Refuses app info on anything but an .ipa application archive. */
export function checkAppInfoTarget(name: string, kind: ArtifactKind, app: IosAppInfo | undefined): void {
  if (app && (kind !== 'application-archive' || !name.toLowerCase().endsWith('.ipa'))) {
    throw new ApiError('VALIDATION_FAILED', 'app: only an .ipa uploaded as kind application-archive carries iOS app info');
  }
}
