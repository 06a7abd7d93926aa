/**
 * The event-stream reader (log follows, the build list's live updates) holds one event at a time: a
 * server that sends one endless line, or an event of endless `data:` lines, makes it fail once the event
 * passes MAX_SSE_EVENT_CHARS (the client's 64 MiB answer cap), not fill the CLI's or dashboard's memory.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_SSE_EVENT_CHARS, readSse } from '../src/index.js';

async function* endless(piece: string, sent: { chars: number }): AsyncGenerator<Uint8Array> {
  const chunk = new TextEncoder().encode(piece.repeat(Math.ceil((1024 * 1024) / piece.length)));
  for (;;) {
    sent.chars += chunk.length;
    if (sent.chars > 4 * MAX_SSE_EVENT_CHARS) throw new Error('the reader never stopped');
    yield chunk;
  }
}

for (const [what, piece] of [
  ['one endless line', 'x'],
  ['an event of endless data lines', 'data: 0123456789abcdef\n'],
] as const) {
  test(`${what} fails past the cap`, async () => {
    const sent = { chars: 0 };
    await assert.rejects(
      (async () => {
        for await (const _ of readSse(endless(piece, sent))) assert.fail('no event was complete');
      })(),
      /larger than 67108864 characters/,
    );
    // What it held is at most the cap; what it read, the cap plus the "data: " prefixes it dropped.
    assert.ok(sent.chars < 1.5 * MAX_SSE_EVENT_CHARS, `read ${sent.chars} characters`);
  });
}

test('events under the cap are read as before', async () => {
  const body = (async function* () {
    yield new TextEncoder().encode(': keep-alive\n\nevent: lines\nid: 7\ndata: {"a":\ndata: 1}\n\n');
  })();
  const events = [];
  for await (const e of readSse(body)) events.push(e);
  assert.deepEqual(events, [{ event: 'lines', id: '7', data: '{"a":\n1}' }]);
});
