/**
 * The shipper's own logic, driven directly: batch cutting, numbering, and re-sending a failed
 * batch unchanged. Delivery to a real controller (restarts, dedup by seq) is covered end to end
 * in test/e2e/controller-killed-mid-build-the-worker-keeps-building.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetworkError, ApiError, type LogBatch, type LogLine } from '@buildmesh/protocol';
import { BACKLOG_BATCH_BYTES, BatchBuffer, DEFAULT_BATCH_BYTES, estimateLineBytes, LogShipper, MAX_BATCH_LINES } from '../src/loops/log-shipper.js';

const line = (i: number, size = 10): LogLine => ({ t: i, stream: 'stdout', phase: 'P', text: String(i).padEnd(size, '.') });

void test('batches are numbered from 1, keep line order, and stay under the byte and line limits', () => {
  const buffer = new BatchBuffer(10_000, 500);
  for (let i = 0; i < 2000; i++) buffer.push(line(i, 100));
  const batches: LogBatch[] = [];
  for (let b = buffer.cut(); b; b = buffer.cut()) batches.push(b);
  assert.deepEqual(batches.map((b) => b.seq), batches.map((_, i) => i + 1));
  assert.deepEqual(batches.flatMap((b) => b.lines.map((l) => l.t)), Array.from({ length: 2000 }, (_, i) => i));
  for (const b of batches) {
    assert.ok(b.lines.reduce((n, l) => n + estimateLineBytes(l), 0) <= 10_000);
    assert.ok(b.lines.length <= 500);
  }
  assert.equal(buffer.pendingLines, 0);
  assert.equal(buffer.pendingBytes, 0);
});

void test('a line bigger than a batch travels alone; the protocol line cap holds', () => {
  const buffer = new BatchBuffer(1000);
  buffer.push(line(1, 10));
  buffer.push(line(2, 5000));
  buffer.push(line(3, 10));
  assert.deepEqual(buffer.cut()!.lines.map((l) => l.t), [1]);
  assert.deepEqual(buffer.cut()!.lines.map((l) => l.t), [2]);
  assert.deepEqual(buffer.cut()!.lines.map((l) => l.t), [3]);
  assert.equal(buffer.cut(), undefined);

  const many = new BatchBuffer(100 * 1024 * 1024);
  for (let i = 0; i < MAX_BATCH_LINES + 5; i++) many.push(line(i, 1));
  assert.equal(many.full, true);
  assert.equal(many.cut()!.lines.length, MAX_BATCH_LINES);
  assert.equal(many.cut()!.lines.length, 5);
});

void test('a failed batch is re-sent with the same seq and the same lines; later lines wait for it', async () => {
  const attempts: LogBatch[] = [];
  let failuresLeft = 3;
  const shipper = new LogShipper({
    lingerMs: 5,
    retry: { baseMs: 5, maxMs: 20 },
    send: async (batch) => {
      attempts.push(structuredClone(batch));
      if (failuresLeft-- > 0) throw new NetworkError('controller away');
    },
  });
  for (let i = 0; i < 10; i++) shipper.push(line(i));
  await new Promise((r) => setTimeout(r, 20));
  for (let i = 10; i < 20; i++) shipper.push(line(i));
  assert.equal(await shipper.flush(), true);
  const first = attempts.filter((b) => b.seq === 1);
  assert.equal(first.length, 4, 'three failures, then success');
  for (const b of first) assert.deepEqual(b, first[0]);
  const delivered = [...new Map(attempts.map((b) => [b.seq, b])).values()];
  assert.deepEqual(delivered.map((b) => b.seq), delivered.map((_, i) => i + 1));
  assert.deepEqual(delivered.flatMap((b) => b.lines.map((l) => l.t)), Array.from({ length: 20 }, (_, i) => i));
  assert.equal(shipper.shippedLines, 20);
  shipper.close();
});

void test('one request in flight at a time; a quiet build\'s line goes out within the linger', async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  const sentAt: number[] = [];
  const shipper = new LogShipper({
    lingerMs: 10,
    send: async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      sentAt.push(Date.now());
      await new Promise((r) => setTimeout(r, 15));
      inFlight--;
    },
  });
  const pushedAt = Date.now();
  shipper.push(line(0));
  await shipper.flush();
  assert.ok(sentAt[0]! - pushedAt < 100, 'sent promptly');
  for (let i = 0; i < 5000; i++) shipper.push(line(i, 200));
  await shipper.flush();
  assert.equal(maxInFlight, 1);
  shipper.close();
});

void test('a lost lease stops shipping and drops what waits; a refused batch is replaced under the same seq', async () => {
  let lost = 0;
  const shipper = new LogShipper({
    lingerMs: 1,
    send: async () => {
      throw new ApiError('LEASE_LOST');
    },
    onLeaseLost: () => lost++,
  });
  shipper.push(line(1));
  assert.equal(await shipper.flush(), false);
  assert.equal(lost, 1);
  assert.equal(shipper.leaseLost, true);

  const sent: LogBatch[] = [];
  const refusing = new LogShipper({
    lingerMs: 1,
    retry: { baseMs: 1, maxMs: 2 },
    send: async (batch) => {
      sent.push(batch);
      if (sent.length === 1) throw new ApiError('VALIDATION_FAILED');
    },
  });
  refusing.push(line(1));
  await refusing.flush();
  refusing.push(line(2));
  await refusing.flush();
  assert.deepEqual(sent.map((b) => b.seq), [1, 1, 2]);
  assert.match(sent[1]!.lines[0]!.text, /1 log lines refused by the controller: VALIDATION_FAILED/);
  refusing.close();
});

void test('a backlog is shipped in larger batches; a batch too large on the wire is split, numbering stays gap-free', async () => {
  const sizes: number[] = [];
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const shipper = new LogShipper({
    lingerMs: 1,
    send: async (batch) => {
      sizes.push(batch.lines.reduce((n, l) => n + estimateLineBytes(l), 0));
      await gate;
    },
  });
  shipper.push(line(0));
  // While the first request hangs, ~3 MB pile up.
  await new Promise((r) => setTimeout(r, 5));
  for (let i = 1; i <= 30_000; i++) shipper.push(line(i, 36));
  release();
  await shipper.flush();
  assert.ok(sizes.slice(1).some((s) => s > DEFAULT_BATCH_BYTES), `batch sizes ${sizes.join(', ')}`);
  assert.ok(sizes.every((s) => s <= BACKLOG_BATCH_BYTES));
  shipper.close();

  const sent: LogBatch[] = [];
  const splitting = new LogShipper({
    lingerMs: 1,
    retry: { baseMs: 1, maxMs: 2 },
    send: async (batch) => {
      if (batch.lines.length > 2) throw new ApiError('PAYLOAD_TOO_LARGE');
      sent.push(batch);
    },
  });
  for (let i = 0; i < 8; i++) splitting.push(line(i));
  await splitting.flush();
  assert.deepEqual(sent.map((b) => b.seq), sent.map((_, i) => i + 1));
  assert.deepEqual(sent.flatMap((b) => b.lines.map((l) => l.t)), [0, 1, 2, 3, 4, 5, 6, 7]);
  splitting.close();
});
