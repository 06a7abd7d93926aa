/**
 * CI sign-in by OIDC token exchange: `build --oidc-token <jwt>` (or BUILDMESH_OIDC_TOKEN) with
 * `--org <id|name>` (or BUILDMESH_ORG) trades the platform's ID token for a short-lived API token of
 * that org at POST /v1/oidc/exchange and uses it for this run only (it is never saved). The org is
 * required: only its trust rules are tried. Without an ID token the usual login or BUILDMESH_TOKEN is used.
 */
import type { BuildMeshClient } from '@buildmesh/protocol';
import { connect, makeClient, resolveConnection, type Connection } from './config.js';
import { CliError, type Output } from './output.js';

export async function connectForCi(
  idToken: string | undefined,
  org: string | undefined,
  out: Output,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ client: BuildMeshClient; connection: Connection }> {
  const jwt = (idToken ?? env.BUILDMESH_OIDC_TOKEN)?.trim();
  if (!jwt) return connect();
  const orgName = (org ?? env.BUILDMESH_ORG)?.trim();
  if (!orgName) {
    throw new CliError(
      'ORG_REQUIRED',
      'an OIDC token exchange names the org it wants a token of, and none was given',
      "set BUILDMESH_ORG (or pass --org) to your org's id or name (`buildmesh admin trust add` prints it)",
    );
  }
  const connection = await resolveConnection(env);
  const exchanged = await makeClient(connection.url).exchangeOidcToken(jwt, orgName);
  out.info(
    `Signed in with the CI's OIDC token: role ${exchanged.role}${exchanged.project ? ` for project ${exchanged.project}` : ''}, until ${exchanged.expiresAt} (trust rule ${exchanged.ruleId})`,
  );
  return { client: makeClient(connection.url, exchanged.token), connection: { ...connection, token: exchanged.token, tokenSource: 'env' } };
}
