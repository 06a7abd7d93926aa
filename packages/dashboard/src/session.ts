/** The signed-in session, and what its role may do (the API enforces it; the page only hides what would be refused). */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Session } from '@buildmesh/protocol/browser';

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  return useContext(SessionContext)!;
}

export function useCan(): { write: boolean; admin: boolean } {
  const role = useSession().token.role;
  return { write: role !== 'read-only', admin: role === 'admin' };
}
