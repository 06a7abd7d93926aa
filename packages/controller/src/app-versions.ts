/**
 * Remote app versions at submit time, as EAS applies them: a profile with `appVersionSource:
 * "remote"` and `autoIncrement` on an Android or iOS build gets the project's next build version
 * (stored before the build is acknowledged, so a restart never hands out the same number twice),
 * written into the stored profile as `appBuildVersion` for the worker. A value a client put there
 * is never trusted: it is removed first.
 */
import type { CreateBuildSpec } from '@buildmesh/protocol';
import type { ControllerContext } from './context.js';

export async function withAppVersion(ctx: ControllerContext, orgId: string, projectId: string, spec: CreateBuildSpec): Promise<CreateBuildSpec> {
  const { appBuildVersion: _untrusted, ...profile } = spec.profile;
  const platform = spec.platform;
  const wanted = profile.appVersionSource === 'remote' && Boolean(profile.autoIncrement) && (platform === 'android' || platform === 'ios');
  if (!wanted) return _untrusted === undefined ? spec : { ...spec, profile };
  const appBuildVersion = await ctx.store.nextAppVersion(orgId, projectId, platform);
  return { ...spec, profile: { ...profile, appBuildVersion } };
}
