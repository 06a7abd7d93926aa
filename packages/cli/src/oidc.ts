/**
 * CI sign-in by OIDC token exchange: `build --oidc-token <jwt>` (or BUILDMESH_OIDC_TOKEN) with
 * `--org <id|name>` (or BUILDMESH_ORG) trades the platform's ID token for a short-lived API token of
 * that org at POST /v1/oidc/exchange and uses it for this run only (it is never saved). The org is
 * required: only its trust rules are tried. Without an ID token the usual login or BUILDMESH_TOKEN is used.
 */
import { ApiError, retryTransient, type BuildMeshClient } from '@buildmesh/protocol';
import { connect, makeClient, resolveConnection, type Connection } from './config.js';
import { CliError, type Output } from './output.js';

/** Tries of an exchange nginx answers RATE_LIMITED (docs/deploy/nginx-buildmesh.conf). */
const EXCHANGE_TRIES = 5;

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
  // A CI matrix behind one address can meet the documented nginx limit on exchanges (429 RATE_LIMITED):
  // its jobs wait and try again (about 10 s in all) instead of failing.
  let limited = 0;
  const exchanged = await retryTransient(() => makeClient(connection.url).exchangeOidcToken(jwt, orgName), {
    retryable: (err) => err instanceof ApiError && err.code === 'RATE_LIMITED' && ++limited < EXCHANGE_TRIES,
    baseMs: 1_000,
    maxMs: 5_000,
  });
  out.info(
    `Signed in with the CI's OIDC token: role ${exchanged.role}${exchanged.project ? ` for project ${exchanged.project}` : ''}, until ${exchanged.expiresAt} (trust rule ${exchanged.ruleId})`,
  );
  return { client: makeClient(connection.url, exchanged.token), connection: { ...connection, token: exchanged.token, tokenSource: 'env' } };
}
