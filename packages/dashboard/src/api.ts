/**
 * The dashboard's one way to the API: the protocol's typed client on this origin,
 * carrying the session's CSRF token (the session cookie itself is HttpOnly and sent
 * by the browser). The token pasted at sign-in is sent once and never stored.
 */
import { ApiError, BuildMeshClient, CSRF_HEADER, type Session } from '@buildmesh/protocol/browser';

let client = new BuildMeshClient({ url: location.origin });

export const api = (): BuildMeshClient => client;

function useSession(session: Session): Session {
  client = new BuildMeshClient({ url: location.origin, headers: { [CSRF_HEADER]: session.csrfToken } });
  return session;
}

/** The session of this browser's cookie, or null when signed out (or it expired). */
export async function resumeSession(): Promise<Session | null> {
  try {
    return useSession(await new BuildMeshClient({ url: location.origin }).currentSession());
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 404)) return null;
    throw err;
  }
}

export async function signIn(token: string): Promise<Session> {
  return useSession(await new BuildMeshClient({ url: location.origin }).createSession({ token }));
}

export async function signOut(): Promise<void> {
  await client.deleteSession().catch(() => undefined);
  client = new BuildMeshClient({ url: location.origin });
}

export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.status === 404 ? 'Not found' : err.message;
  return err instanceof Error ? err.message : String(err);
}

export const artifactUrl = (buildId: string, artifactId: string): string =>
  `${location.origin}/v1/builds/${encodeURIComponent(buildId)}/artifacts/${encodeURIComponent(artifactId)}`;
