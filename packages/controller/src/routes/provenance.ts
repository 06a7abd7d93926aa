import { ArtifactParams, ArtifactProvenance, PROVENANCE_KEYS_PATH, ProvenanceKey, ProvenanceKeyList } from '@buildmesh/protocol';
import type { App } from '../http/app.js';
import type { ControllerContext } from '../context.js';
import { audit } from '../audit/record.js';
import { userOf } from '../auth/roles.js';
import { artifactProvenance } from '../provenance/issue.js';
import { ProvenanceKeys } from '../provenance/signing-keys.js';

/**
 * Signed provenance: each artifact's DSSE-signed in-toto statement, the published signing keys
 * (public, current and retired), and rotation (instance admin). The first key is made at start.
 */
export function registerProvenanceRoutes(app: App, ctx: ControllerContext): void {
  const keys = new ProvenanceKeys(ctx.store, ctx.keyring);
  app.addHook('onReady', () => keys.ensure());

  app.get(
    '/v1/builds/:id/artifacts/:artifactId/provenance',
    {
      config: { access: 'read' },
      schema: {
        tags: ['builds'],
        params: ArtifactParams,
        response: { 200: ArtifactProvenance },
        description: "The artifact's in-toto statement (SLSA v1 provenance) in a DSSE envelope signed with the instance's Ed25519 key; issued once the attempt that made it succeeded (409 before).",
      },
    },
    async (request) => artifactProvenance(ctx.store, keys, userOf(request).orgId, request.params.id, request.params.artifactId),
  );

  app.get(PROVENANCE_KEYS_PATH, { config: { access: 'public' }, schema: { tags: ['builds'], response: { 200: ProvenanceKeyList } } }, async () => ({
    keys: await keys.list(),
  }));

  app.post(
    '/v1/provenance-keys/rotate',
    { config: { access: 'instance-admin', body: 'json' }, schema: { tags: ['tenancy'], response: { 201: ProvenanceKey } } },
    async (request, reply) => {
      const key = await keys.rotate();
      await audit(ctx, request, { action: 'provenance_key.rotate', orgId: userOf(request).orgId, target: { type: 'provenance_key', id: key.keyid } });
      return reply.code(201).send(key);
    },
  );
}
