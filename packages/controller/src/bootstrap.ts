/**
 * First start (and every start): the `default` org exists, and so does an
 * instance admin token — the one in BUILDMESH_ADMIN_TOKEN, or, when none is set
 * and none exists yet, a generated one that is returned exactly once.
 */
import { ApiError, type Org } from '@buildmesh/protocol';
import type { FastifyBaseLogger } from 'fastify';
import { newId } from './ids.js';
import type { Store } from './store/store.js';
import { apiTokenCredential, hashSecret, mintCredential } from './auth/tokens.js';

export const DEFAULT_ORG = 'default';
export const INSTANCE_ADMIN_TOKEN_NAME = 'instance-admin';

async function ensureDefaultOrg(store: Store): Promise<Org> {
  const existing = await store.getOrgByName(DEFAULT_ORG);
  if (existing) return existing;
  try {
    return await store.createOrg({ id: newId('org'), name: DEFAULT_ORG });
  } catch (err) {
    if (err instanceof ApiError && err.code === 'NAME_TAKEN') return (await store.getOrgByName(DEFAULT_ORG))!;
    throw err;
  }
}

export async function bootstrap(
  store: Store,
  options: { adminToken: string | null },
  log: FastifyBaseLogger,
): Promise<{ org: Org; generatedAdminToken: string | null }> {
  const org = await ensureDefaultOrg(store);
  if (options.adminToken !== null) {
    const credential = apiTokenCredential(options.adminToken);
    if (!credential) throw new Error('BUILDMESH_ADMIN_TOKEN is not usable as a token (24–512 characters, or a bmt_ token)');
    const existing = await store.findToken(credential.id);
    if (!existing) {
      // A BUILDMESH_ADMIN_TOKEN this controller has not seen replaces the previous instance admin token(s).
      try {
        const { revoked } = await store.replaceInstanceAdminToken({
          id: credential.id,
          orgId: org.id,
          name: INSTANCE_ADMIN_TOKEN_NAME,
          secretHash: hashSecret(credential.secret),
        });
        if (revoked.length > 0) log.warn({ revoked }, 'BUILDMESH_ADMIN_TOKEN changed: the previous instance admin token was revoked');
      } catch (err) {
        // Replicas starting together with the same new token: one inserts it, the others find it.
        if (!(await store.findToken(credential.id))) throw err;
      }
    } else if (existing.revokedAt !== null) {
      log.warn('the token in BUILDMESH_ADMIN_TOKEN was revoked (rotated); it will not be accepted: unset it or set the current one');
    }
    return { org, generatedAdminToken: null };
  }
  if ((await store.countInstanceAdminTokens()) > 0) return { org, generatedAdminToken: null };
  const id = newId('tok');
  const { token, secretHash } = mintCredential('t', id);
  await store.insertToken({ id, orgId: org.id, name: INSTANCE_ADMIN_TOKEN_NAME, role: 'admin', instanceAdmin: true, secretHash });
  return { org, generatedAdminToken: token };
}
