/**
 * better-sqlite3 behind Kysely's SqliteDialect with a prepared-statement cache.
 *
 * Why: Kysely's SQLite driver calls `database.prepare(sql)` for every query, and
 * preparing (parsing and planning the SQL) costs as much as running a small
 * query. A better-sqlite3 Statement is reusable and immutable once prepared, so
 * it is cached by its SQL text. Nothing about the data is cached: every call
 * still runs against the database.
 */
import type { Database as BetterSqlite3Database, Statement } from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/** Distinct SQL texts are few (one per query shape); `in (…)` lists of other lengths add a handful. */
const MAX_CACHED_STATEMENTS = 1000;

export class CachingSqliteDatabase implements SqliteDatabase {
  private readonly statements = new Map<string, Statement>();

  constructor(readonly database: BetterSqlite3Database) {}

  prepare(sql: string): SqliteStatement {
    const cached = this.statements.get(sql);
    // A statement still iterating (a streamed read) cannot run again until it finishes: use a fresh one.
    if (cached && !cached.busy) return cached as unknown as SqliteStatement;
    const statement = this.database.prepare(sql);
    if (!cached) {
      // Map order is insertion order: drop the oldest shape when full.
      if (this.statements.size >= MAX_CACHED_STATEMENTS) this.statements.delete(this.statements.keys().next().value!);
      this.statements.set(sql, statement);
    }
    return statement as unknown as SqliteStatement;
  }

  close(): void {
    this.statements.clear();
    this.database.close();
  }
}
