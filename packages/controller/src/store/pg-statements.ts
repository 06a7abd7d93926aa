/**
 * PostgreSQL named statements for the hot queries: a statement registered here is sent as a named
 * prepared statement, so each pooled connection parses and plans it once instead of on every call
 * (postgres.ts wraps the pool's clients). Only registered texts are named — the prepared queries
 * (prepared.ts) and the single-statement submit, claim and finish — so their number is fixed and
 * small; every other query stays unnamed. docs/performance.md.
 */
const names = new Map<string, string>();

/** Runs `text` as a named statement on every PostgreSQL connection from now on. */
export function nameStatement(text: string): void {
  if (!names.has(text)) names.set(text, `buildmesh_${names.size}`);
}

/** The statement's name if it is registered. */
export const statementName = (text: string): string | undefined => names.get(text);

/**
 * PostgreSQL refuses to run a named statement whose result columns changed under it (a migration
 * added a column to a `select *` table while this replica ran): SQLSTATE 0A000, "cached plan must
 * not change result type". The caller forgets the statement on that connection and runs it unnamed.
 */
export const isStalePlan = (err: unknown): boolean =>
  (err as { code?: unknown } | null)?.code === '0A000' && /cached plan must not change result type/.test((err as Error).message);
