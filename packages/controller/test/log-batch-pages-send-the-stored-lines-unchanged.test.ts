/**
 * GET …/logs?format=batches (the dashboard's read of a whole log): pages of the stored batches, sent
 * as stored — the same lines, attempts and order as the entries format, whole batches within limit
 * and maxBytes (at least one), a cursor inside a batch (from an entries page or tail) cutting only
 * that batch, cursors interchangeable between the formats, complete only for an ended build, and
 * another org's build not found.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LogBatchPage, LogEntry, LogLine, LogPage } from '@buildmesh/protocol';
import { startControllerProcess } from './helpers/controller-process.js';
import { createTenant, keepLeased, leasedBuild } from './helpers/fixtures.js';

const line = (text: string, extra: Partial<LogLine> = {}): LogLine => ({ t: 1_700_000_000_000, stream: 'stdout', phase: 'RUN', text, ...extra });

void test('batch pages carry the stored lines unchanged, page by whole batches and share cursors with entry pages', async () => {
  const controller = await startControllerProcess();
  let stop = (): void => {};
  try {
    const { tenant, worker, build, attemptId } = await leasedBuild(controller);
    stop = keepLeased(worker, attemptId);
    const pad = ' '.repeat(600);
    const batches: LogLine[][] = [
      [line(`a — dash${pad}`, { marker: 'START_PHASE' }), line('a2 "quoted" \\ back\\slash }{ ] ['), line('a3 emoji 🚀 and \u0000 nul\nnewline')],
      [line(`b1${pad}`, { stream: 'stderr' }), line('b2 \x1b[31mred\x1b[0m')],
      [line(`c1${pad}`), line('c2 ü'), line('c3'), line('c4', { marker: 'END_PHASE', result: 'success', durationMs: 12 })],
    ];
    for (const [i, lines] of batches.entries()) await worker.client.sendLogs(attemptId, { seq: i + 1, lines });

    const get = async (query: string, token = tenant.tokens.reader): Promise<Response> =>
      fetch(`${controller.url}/v1/builds/${build.id}/logs?${query}`, { headers: { authorization: `Bearer ${token}` } });
    const page = async <T>(query: string): Promise<T> => {
      const res = await get(query);
      assert.equal(res.status, 200, `${query}: ${await res.clone().text()}`);
      return (await res.json()) as T;
    };
    const flat = (p: LogBatchPage): LogEntry[] => p.batches.flatMap((b) => b.lines.map((l) => ({ ...l, attempt: b.attempt })));

    const all = (await page<LogPage>('limit=1000')).entries;
    assert.equal(all.length, 9);

    // One page: every batch as stored, in order, each with its attempt; not complete while the build runs.
    const whole = await page<LogBatchPage>('format=batches&limit=1000');
    assert.deepEqual(whole.batches.map((b) => b.lines), batches);
    assert.deepEqual(flat(whole), all);
    assert.equal(whole.complete, false);

    // limit=4: whole batches only (3, then 2 — 2+4 would pass 4 — then the 4-line batch alone: a page's first always fits).
    const sizes: number[][] = [];
    const read: LogEntry[] = [];
    let cursor = '';
    for (let i = 0; i < 10; i++) {
      const p = await page<LogBatchPage>(`format=batches&limit=4${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      if (p.batches.length === 0) break;
      sizes.push(p.batches.map((b) => b.lines.length));
      read.push(...flat(p));
      cursor = p.nextCursor;
    }
    assert.deepEqual(sizes, [[3], [2], [4]]);
    assert.deepEqual(read, all);
    // maxBytes at its minimum (each batch holds over 600 bytes): one batch a page.
    assert.deepEqual((await page<LogBatchPage>('format=batches&limit=1000&maxBytes=1024')).batches.map((b) => b.lines.length), [3]);
    assert.deepEqual((await page<LogBatchPage>('format=batches&limit=1000&maxBytes=2048')).batches.map((b) => b.lines.length), [3, 2]);

    // A cursor inside a batch (an entries page of 2 lines stops inside the first batch): only that batch is cut.
    const two = await page<LogPage>('limit=2');
    const rest = await page<LogBatchPage>(`format=batches&limit=1000&cursor=${encodeURIComponent(two.nextCursor)}`);
    assert.deepEqual(rest.batches.map((b) => b.lines.length), [1, 2, 4]);
    assert.deepEqual([...two.entries, ...flat(rest)], all);
    // And the other way round: a batch page's cursor continues an entries read.
    const after = await page<LogPage>(`limit=1000&cursor=${encodeURIComponent((await page<LogBatchPage>('format=batches&limit=3')).nextCursor)}`);
    assert.deepEqual(after.entries, all.slice(3));
    // tail=3 starts inside the last batch.
    assert.deepEqual(flat(await page<LogBatchPage>('format=batches&tail=3')), all.slice(6));
    // attempt=2 has no lines.
    assert.deepEqual((await page<LogBatchPage>('format=batches&attempt=2')).batches, []);

    // A live stream sends entries: format=batches with follow is refused.
    assert.equal((await get('format=batches&follow=true')).status, 400);
    assert.equal((await get('format=nope')).status, 400);
    // Another org's reader: not found, nothing leaks.
    const other = await createTenant(controller, 'other');
    assert.equal((await get('format=batches', other.tokens.reader)).status, 404);

    await worker.client.finish(attemptId, { outcome: 'succeeded' });
    stop();
    const ended = await page<LogBatchPage>('format=batches&limit=1000');
    assert.equal(ended.complete, true, 'an ended build read to its end is complete');
    assert.equal((await page<LogBatchPage>('format=batches&limit=4')).complete, false, 'a page that stopped early is not');
  } finally {
    stop();
    await controller.dispose();
  }
});
