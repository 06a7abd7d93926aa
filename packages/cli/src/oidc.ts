/**
 * CI sign-in by OIDC token exchange: `build --oidc-token <jwt>` (or BUILDMESH_OIDC_TOKEN) trades the
 * platform's ID token for a short-lived API token at POST /v1/oidc/exchange and uses it for this run
 * only (it is never saved). Without an ID token the usual login or BUILDMESH_TOKEN is used.
 */
import type { BuildMeshClient } from '@buildmesh/protocol';
import { connect, makeClient, resolveConnection, type Connection } from './config.js';
import type { Output } from './output.js';

export async function connectForCi(idToken: string | undefined, out: Output, env: NodeJS.ProcessEnv = process.env): Promise<{ client: BuildMeshClient; connection: Connection }> {
  const jwt = (idToken ?? env.BUILDMESH_OIDC_TOKEN)?.trim();
  if (!jwt) return connect();
  const connection = await resolveConnection(env);
  const exchanged = await makeClient(connection.url).exchangeOidcToken(jwt);
  out.info(
    `Signed in with the CI's OIDC token: role ${exchanged.role}${exchanged.project ? ` for project ${exchanged.project}` : ''}, until ${exchanged.expiresAt} (trust rule ${exchanged.ruleId})`,
  );
  return { client: makeClient(connection.url, exchanged.token), connection: { ...connection, token: exchanged.token, tokenSource: 'env' } };
}
