/**
 * Log reads cut lines out of the stored batch text instead of parsing it
 * (logs/log-lines.ts): every cut must be exactly one line's JSON, whatever the
 * text holds (quotes, backslashes, braces, brackets, non-ASCII, control characters).
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { test } from 'node:test';
import type { LogLine } from '@buildmesh/protocol';
import { lineSpans } from '../src/logs/log-lines.js';

const PIECES = ['"', '\\', '\\"', '\\\\"', '}', '{', ']', '[', ',', ':', 'é', '🚀', '\n', '\t', '\u0000', 'x', ' ', '"}', '\\}'];

test('every span of a stored batch is exactly one line, for texts full of JSON syntax', () => {
  for (let round = 0; round < 300; round++) {
    const lines: LogLine[] = Array.from({ length: randomInt(1, 30) }, (_, i) => ({
      t: i,
      stream: 'stdout',
      text: Array.from({ length: randomInt(0, 12) }, () => PIECES[randomInt(PIECES.length)]).join(''),
      ...(i % 3 === 0 ? { phase: 'P"}\\', marker: 'START_PHASE' as const } : {}),
      ...(i % 5 === 0 ? { exitCode: null } : {}),
    }));
    const text = JSON.stringify(lines);
    const cut = [...lineSpans(text)].map(([from, to]) => text.slice(from, to));
    assert.deepEqual(cut, lines.map((l) => JSON.stringify(l)), text);
  }
  assert.deepEqual([...lineSpans('[]')], []);
});
