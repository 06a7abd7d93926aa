/**
 * Hot statements built and compiled once per dialect. Kysely builds and compiles a query anew on
 * every call, which costs about as much as SQLite needs to run a small one; a prepared query is
 * built once with stand-in values, and each call swaps its own values in. The builder must use its
 * arguments as whole parameter values (no string concatenation, no `in` lists). On PostgreSQL each is
 * also a named statement (pg-statements.ts). docs/performance.md.
 */
import type { Compilable, CompiledQuery, QueryResult } from 'kysely';
import type { Db } from './rows.js';
import type { Database } from './schema.js';
import { isPostgres } from './rows.js';
import { nameStatement } from './pg-statements.js';

const STAND_IN = /^\u0000buildmesh-parameter-(\d+)\u0000$/;
const standIn = (i: number) => `\u0000buildmesh-parameter-${i}\u0000`;

interface Compiled<O> {
  query: CompiledQuery<O>;
  /** For each compiled parameter: the argument it takes, or null for a constant of the query. */
  slots: Array<number | null>;
}

export function prepared<A extends unknown[], O>(arity: A['length'], build: (db: Db, ...args: A) => Compilable<O>): (db: Db, ...args: A) => Promise<QueryResult<O>> {
  // One per dialect (its adapter class): the SQL text and its placeholders differ.
  const byDialect = new Map<unknown, Compiled<O>>();
  return async (db, ...args) => {
    const dialect = db.getExecutor().adapter.constructor;
    let compiled = byDialect.get(dialect);
    if (!compiled) {
      const query = build(db, ...(Array.from({ length: arity }, (_, i) => standIn(i)) as A)).compile();
      const slots = query.parameters.map((p) => {
        const m = typeof p === 'string' ? STAND_IN.exec(p) : null;
        return m ? Number(m[1]) : null;
      });
      if (new Set(slots.filter((s) => s !== null)).size !== arity) throw new Error(`a prepared query must use each of its ${arity} arguments as a parameter: ${query.sql}`);
      compiled = { query, slots };
      byDialect.set(dialect, compiled);
      // PostgreSQL: a named statement, parsed once per connection (pg-statements.ts).
      if (isPostgres(db)) nameStatement(query.sql);
    }
    const { query, slots } = compiled;
    const parameters = query.parameters.map((p, i) => (slots[i] === null ? p : args[slots[i]!]));
    return db.executeQuery<O>({ ...query, parameters });
  };
}

/** An insert of one row, prepared per table and set of columns: each call passes its row. */
export function preparedInsert<T extends keyof Database & string>(table: T): (db: Db, row: Record<string, unknown>) => Promise<QueryResult<unknown>> {
  const byColumns = new Map<string, (db: Db, ...values: unknown[]) => Promise<QueryResult<unknown>>>();
  return (db, row) => {
    const columns = Object.keys(row);
    const key = columns.join(',');
    let insert = byColumns.get(key);
    if (!insert) {
      insert = prepared(columns.length, (d, ...values: unknown[]) => d.insertInto(table).values(Object.fromEntries(columns.map((c, i) => [c, values[i]])) as never));
      byColumns.set(key, insert);
    }
    return insert(db, ...columns.map((c) => row[c]));
  };
}
