/** Records the store tests hand to the store directly: a new web build of an org's project, a random source. */
import { randomBytes } from 'node:crypto';
import { newId } from '../../src/ids.js';
import type { NewBuild } from '../../src/store/store.js';

export function newWebBuild(orgId: string, projectId: string, extra: Partial<NewBuild> = {}): NewBuild {
  return {
    id: newId('bld'),
    orgId,
    projectId,
    spec: { project: 'app', platform: 'web', profile: { name: 'production', env: {} } },
    source: { sha256: randomBytes(32).toString('hex'), size: 1 },
    credentialsSealed: null,
    retryOf: null,
    ...extra,
  };
}
