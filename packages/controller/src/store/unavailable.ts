/**
 * Whether a store error means the database cannot be reached right now (PostgreSQL restarting,
 * failing over, refusing connections), as opposed to a fault of the request or of this code.
 * Such a request is answered 503 DATABASE_UNAVAILABLE, which every BuildMesh client retries,
 * instead of a 500 that would be logged as a server failure.
 */

/** Set on errors of opening a pooled connection (postgres.ts): the network codes alone could be anyone's. */
export const CONNECT_FAILED = Symbol('buildmesh.databaseConnectFailed');

/** SQLSTATE class 08 (connection exception), admin / crash shutdown, "the database system is starting up". */
const UNAVAILABLE_STATE = /^(08[0-9A-Z]{3}|57P0[123])$/;
/** What node-postgres says when a connection ends under a query or is used after it ended. */
const UNAVAILABLE_MESSAGE = /^(Connection terminated|Client has encountered a connection error|Client was closed and is not queryable|timeout exceeded when trying to connect)/;

export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if ((err as { [CONNECT_FAILED]?: boolean })[CONNECT_FAILED] === true) return true;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && UNAVAILABLE_STATE.test(code)) return true;
  return UNAVAILABLE_MESSAGE.test(err.message);
}
