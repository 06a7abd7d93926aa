import type { AppVersion } from '@buildmesh/protocol';
import { nowIso, type Db } from '../rows.js';

const toAppVersion = (platform: string, r: { build_version: number | string; updated_at: string } | undefined): AppVersion => ({
  platform: platform as AppVersion['platform'],
  buildVersion: r ? Number(r.build_version) : null,
  updatedAt: r?.updated_at ?? null,
});

export async function getAppVersion(db: Db, orgId: string, projectId: string, platform: string): Promise<AppVersion> {
  const row = await db
    .selectFrom('app_versions')
    .select(['build_version', 'updated_at'])
    .where('org_id', '=', orgId)
    .where('project_id', '=', projectId)
    .where('platform', '=', platform)
    .executeTakeFirst();
  return toAppVersion(platform, row);
}

export async function setAppVersion(db: Db, orgId: string, projectId: string, platform: string, buildVersion: number): Promise<AppVersion> {
  const updatedAt = nowIso();
  await db
    .insertInto('app_versions')
    .values({ org_id: orgId, project_id: projectId, platform, build_version: buildVersion, updated_at: updatedAt })
    .onConflict((oc) => oc.columns(['project_id', 'platform']).doUpdateSet({ build_version: buildVersion, updated_at: updatedAt }))
    .execute();
  return { platform: platform as AppVersion['platform'], buildVersion, updatedAt };
}

/** Raises the stored build version by one in one statement (1 when there is none yet) and returns it. */
export async function nextAppVersion(db: Db, orgId: string, projectId: string, platform: string): Promise<number> {
  const updatedAt = nowIso();
  const row = await db
    .insertInto('app_versions')
    .values({ org_id: orgId, project_id: projectId, platform, build_version: 1, updated_at: updatedAt })
    .onConflict((oc) => oc.columns(['project_id', 'platform']).doUpdateSet((eb) => ({ build_version: eb('app_versions.build_version', '+', 1), updated_at: updatedAt })))
    .returning('build_version')
    .executeTakeFirstOrThrow();
  return Number(row.build_version);
}
