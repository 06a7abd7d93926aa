/**
 * Which blobs an org has: uploaded by that org (org_blobs, with that size) and
 * still stored (retention may have deleted a blob no build uses any more).
 */
import type { ControllerContext } from '../context.js';

export async function orgBlobsPresent(ctx: ControllerContext, orgId: string, blobs: ReadonlyArray<{ sha256: string; size: number }>): Promise<Set<string>> {
  const known = await ctx.store.orgBlobsKnown(orgId, blobs);
  const present = new Set<string>();
  await Promise.all(
    [...known].map(async (sha256) => {
      if ((await ctx.blobs.stat(sha256)) !== undefined) present.add(sha256);
    }),
  );
  return present;
}
