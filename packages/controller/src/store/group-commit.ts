/**
 * Group commit for the embedded store: writes that arrive while a commit is under way share the
 * next one, each inside its own savepoint (one that fails rolls back only its own changes), and
 * every caller is answered only after that shared commit. With synchronous=FULL each commit is an
 * fsync the event loop waits for; one per group instead of one per request. See docs/performance.md.
 */
import { CompiledQuery, type Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { Db } from './rows.js';

interface Pending {
  work: (trx: Db) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** A group never grows past this many writes: later ones wait for the next commit. */
const MAX_GROUP = 128;

const SAVEPOINT = CompiledQuery.raw('savepoint group_item');
const ROLLBACK_TO = CompiledQuery.raw('rollback to savepoint group_item');
const RELEASE = CompiledQuery.raw('release savepoint group_item');

export class GroupCommit {
  private pending: Pending[] = [];
  private flushing = false;

  constructor(private readonly db: Kysely<Database>) {}

  /** Runs `work` in the next group's transaction; resolves once that transaction has committed. */
  run<T>(work: (trx: Db) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.flushing) {
        this.flushing = true;
        // The requests read in this turn of the event loop join the first group.
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const group = this.pending.splice(0, MAX_GROUP);
      if (group.length === 1) {
        // Alone in its group (one request at a time): its own transaction, no savepoint needed.
        const item = group[0]!;
        try {
          item.resolve(await this.db.transaction().execute((trx) => item.work(trx)));
        } catch (error) {
          item.reject(error);
        }
        continue;
      }
      const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
      try {
        await this.db.transaction().execute(async (trx) => {
          for (const item of group) {
            await trx.executeQuery(SAVEPOINT);
            try {
              outcomes.push({ ok: true, value: await item.work(trx) });
            } catch (error) {
              await trx.executeQuery(ROLLBACK_TO);
              outcomes.push({ ok: false, error });
            }
            await trx.executeQuery(RELEASE);
          }
        });
      } catch (error) {
        // The commit itself failed: nothing of the group is in the store.
        for (const item of group) item.reject(error);
        continue;
      }
      group.forEach((item, i) => {
        const outcome = outcomes[i]!;
        if (outcome.ok) item.resolve(outcome.value);
        else item.reject(outcome.error);
      });
    }
    this.flushing = false;
  }
}
