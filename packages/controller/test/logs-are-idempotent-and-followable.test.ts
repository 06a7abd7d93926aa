import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readSse, type LogEntry, type LogLine } from '@buildmesh/protocol';
import { startControllerProcess } from './helpers/controller-process.js';
import { leasedBuild, sleep } from './helpers/fixtures.js';
import { rejectsWith } from './helpers/expect.js';

const line = (text: string): LogLine => ({ t: Date.now(), stream: 'stdout', phase: 'RUN', text });
const texts = (entries: LogEntry[]) => entries.map((e) => e.text);

test('log batches are idempotent, gaps are refused, pages and live follows deliver each line once in order', async () => {
  const controller = await startControllerProcess();
  try {
    const { tenant, worker, build, attemptId } = await leasedBuild(controller);

    // A follower is attached before any line exists; it must see every line exactly once.
    const followed: string[] = [];
    const statuses: string[] = [];
    const follower = (async () => {
      const gen = tenant.reader.followLogs(build.id, { onStatus: (s) => statuses.push(s) });
      for (;;) {
        const next = await gen.next();
        if (next.done) return next.value;
        followed.push(next.value.text);
      }
    })();

    assert.deepEqual(await worker.client.sendLogs(attemptId, { seq: 1, lines: [line('a1'), line('a2')] }), { seq: 1, duplicate: false });
    assert.deepEqual(await worker.client.sendLogs(attemptId, { seq: 2, lines: [line('b1')] }), { seq: 2, duplicate: false });
    // The reply was lost, the worker sends batch 2 again: harmless.
    assert.deepEqual(await worker.client.sendLogs(attemptId, { seq: 2, lines: [line('b1')] }), { seq: 2, duplicate: true });
    assert.deepEqual(await worker.client.sendLogs(attemptId, { seq: 1, lines: [line('a1'), line('a2')] }), { seq: 1, duplicate: true });
    // Batch 4 before batch 3: refused, so no reader's cursor can skip over batch 3.
    await rejectsWith(worker.client.sendLogs(attemptId, { seq: 4, lines: [line('d1')] }), 'LOG_SEQ_GAP');
    await sleep(200);
    await worker.client.sendLogs(attemptId, { seq: 3, lines: [line('c1'), line('c2')] });
    await worker.client.sendLogs(attemptId, { seq: 4, lines: [line('d1')] });

    // Paging: one line per page (limit counts lines, inside a batch too), following nextCursor.
    const paged: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await tenant.reader.readLogs(build.id, { cursor, limit: 1 });
      paged.push(...texts(page.entries));
      assert.equal(page.complete, false, 'the build still runs');
      if (page.entries.length === 0) break;
      cursor = page.nextCursor;
    }
    assert.deepEqual(paged, ['a1', 'a2', 'b1', 'c1', 'c2', 'd1']);
    assert.ok(paged.every(Boolean));
    const all = await tenant.reader.readLogs(build.id);
    assert.ok(all.entries.every((e) => e.attempt === 1 && e.phase === 'RUN' && e.stream === 'stdout'));

    // Cursors we did not issue are refused.
    for (const bad of ['garbage', 'l1.1', 'l1.-1.2', 'l2.1.1', "l1.1.1'--", 'l1.9999999.1']) {
      await rejectsWith(tenant.reader.readLogs(build.id, { cursor: bad }), 'INVALID_CURSOR', `cursor ${bad}`);
    }

    await worker.client.sendLogs(attemptId, { seq: 5, lines: [line('e1')] });
    await worker.client.finish(attemptId, { outcome: 'succeeded' });
    const endStatus = await follower;
    assert.equal(endStatus, 'succeeded');
    assert.deepEqual(followed, ['a1', 'a2', 'b1', 'c1', 'c2', 'd1', 'e1'], 'each line once, in order');
    assert.equal(statuses.at(-1), 'succeeded');

    const final = await tenant.reader.readLogs(build.id);
    assert.equal(final.complete, true);
    assert.deepEqual(texts(final.entries), ['a1', 'a2', 'b1', 'c1', 'c2', 'd1', 'e1']);
    const after = await tenant.reader.readLogs(build.id, { cursor: final.nextCursor });
    assert.deepEqual(after.entries, []);
    assert.equal(after.complete, true);
    // The last lines: tail starts inside a batch (c1, c2 | d1 | e1), and ends where the full read ends.
    const last3 = await tenant.reader.readLogs(build.id, { tail: 3 });
    assert.deepEqual([texts(last3.entries), last3.complete, last3.nextCursor], [['c2', 'd1', 'e1'], true, final.nextCursor]);
    await rejectsWith(tenant.reader.readLogs(build.id, { tail: 3, cursor: final.nextCursor }), 'BAD_REQUEST', 'tail with a cursor');

    // Resume by Last-Event-ID: only what came after that event.
    const first = await fetch(`${controller.url}/v1/builds/${build.id}/logs?follow=true`, {
      headers: { authorization: `Bearer ${tenant.tokens.reader}`, accept: 'text/event-stream' },
    });
    assert.equal(first.headers.get('content-type')?.startsWith('text/event-stream'), true);
    const events: Array<{ event: string; id: string | null; data: string }> = [];
    for await (const event of readSse(first.body!)) events.push(event);
    assert.deepEqual(events.map((e) => e.event), ['status', 'lines', 'end']);
    assert.deepEqual(texts((JSON.parse(events[1]!.data) as { entries: LogEntry[] }).entries), ['a1', 'a2', 'b1', 'c1', 'c2', 'd1', 'e1']);
    assert.equal(events[1]!.id, final.nextCursor, 'an event id is the same cursor a page hands out');
    // A client that saw the first two lines reconnects.
    const resumeAfter = (await tenant.reader.readLogs(build.id, { limit: 2 })).nextCursor;
    const resumed = await fetch(`${controller.url}/v1/builds/${build.id}/logs`, {
      headers: { authorization: `Bearer ${tenant.tokens.reader}`, accept: 'text/event-stream', 'last-event-id': resumeAfter },
    });
    const resumedTexts: string[] = [];
    for await (const event of readSse(resumed.body!)) {
      if (event.event === 'lines') resumedTexts.push(...texts((JSON.parse(event.data) as { entries: LogEntry[] }).entries));
    }
    assert.deepEqual(resumedTexts, ['b1', 'c1', 'c2', 'd1', 'e1']);
    // A stream that began at a tail reconnects to the same URL: Last-Event-ID resumes, the tail is not applied again.
    const tailResumed = await fetch(`${controller.url}/v1/builds/${build.id}/logs?tail=1`, {
      headers: { authorization: `Bearer ${tenant.tokens.reader}`, accept: 'text/event-stream', 'last-event-id': resumeAfter },
    });
    const tailTexts: string[] = [];
    for await (const event of readSse(tailResumed.body!)) {
      if (event.event === 'lines') tailTexts.push(...texts((JSON.parse(event.data) as { entries: LogEntry[] }).entries));
    }
    assert.deepEqual(tailTexts, ['b1', 'c1', 'c2', 'd1', 'e1']);

    // A malformed Last-Event-ID is refused like a malformed cursor.
    const badResume = await fetch(`${controller.url}/v1/builds/${build.id}/logs`, {
      headers: { authorization: `Bearer ${tenant.tokens.reader}`, accept: 'text/event-stream', 'last-event-id': 'nope' },
    });
    assert.equal(badResume.status, 400);
    assert.equal(((await badResume.json()) as { error: { code: string } }).error.code, 'INVALID_CURSOR');
  } finally {
    await controller.dispose();
  }
});
