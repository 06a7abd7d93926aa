/**
 * webhook_claim_20k_waiting_ms: one claim of the webhook deliverer (SQLite, in-process) while one
 * webhook has 20,000 deliveries waiting (a dead receiver, or a script redelivering in a loop) beside
 * 49 others with one each; webhook_claim_20k_vs_200 is that over the same with 200 waiting — a flat
 * cost: each claim frees the next one of that webhook, so this ran once per delivery attempt.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { newId } from '../packages/controller/src/ids.js';
import { openSqliteStore } from '../packages/controller/src/store/sqlite.js';
import { median } from './support/measure.js';

const CLAIMS = 200;

async function claimCost(waiting: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'buildmesh-bench-webhook-claim-'));
  const file = join(dir, 'controller.db');
  const store = await openSqliteStore(file);
  try {
    const org = await store.createOrg({ id: newId('org'), name: 'acme' });
    const hooks = [];
    for (let i = 0; i < 50; i++) {
      hooks.push(await store.insertWebhook({ id: newId('whk'), orgId: org.id, projectId: null, projectName: null, url: `https://hooks.example/${i}`, events: ['build.queued'], secretSealed: Buffer.alloc(32) }));
    }
    for (const w of hooks) await store.enqueuePing(org.id, w.id);
    // The backlog, written straight into the file: copies of the first webhook's ping.
    const db = new Database(file);
    db.pragma('busy_timeout = 10000');
    db.prepare(
      `with recursive n(i) as (select 1 union all select i + 1 from n where i < ?)
       insert into webhook_deliveries (id, webhook_id, org_id, event_id, event, payload, status, attempts, next_attempt_at, created_at)
       select d.id || '-' || n.i, d.webhook_id, d.org_id, d.event_id, d.event, d.payload, 'pending', 0, d.next_attempt_at, d.created_at
       from webhook_deliveries d, n where d.webhook_id = ?`,
    ).run(waiting - 1, hooks[0]!.id);
    db.close();
    const samples: number[] = [];
    for (let i = 0; i < CLAIMS; i++) {
      // As the deliverer asks once the backlogged webhook's last send ended: everything else busy.
      const busy = new Set(hooks.slice(1).map((w) => w.id));
      const t0 = performance.now();
      const got = await store.claimDueDeliveries({ limit: 32, leaseMs: 15_000, busyWebhooks: busy, inFlightByOrg: new Map(), perOrg: 8 });
      samples.push(performance.now() - t0);
      if (got.length !== 1) throw new Error(`expected one claimed delivery, got ${got.length}`);
    }
    return median(samples.slice(20));
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchWebhookClaim(): Promise<Record<string, number>> {
  const few = await claimCost(CLAIMS + 1);
  const many = await claimCost(20_000);
  return { webhook_claim_20k_waiting_ms: many, webhook_claim_200_waiting_ms: few, webhook_claim_20k_vs_200: many / few };
}
