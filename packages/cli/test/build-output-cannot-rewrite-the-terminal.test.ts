/**
 * Log lines, step names and error messages come from builds (attacker input to whoever watches them).
 * Printed for people they keep their colours, and lose every other escape sequence and control
 * character: no window title or clipboard writes (OSC 0/52), no hyperlinks, no cursor moves or erases
 * that could hide or forge lines, no C1 controls, no bidirectional overrides. `--json` keeps every
 * character of the value, but writes the ones JSON leaves raw (DEL, C1, bidi marks, U+2028/2029) as \u escapes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { LogEntry } from '@buildmesh/protocol';
import { LogPrinter } from '../src/follow.js';
import { jsonText, terminalText } from '../src/output.js';

const HOSTILE = [
  '\x1b]0;pwned title\x07',
  '\x1b]52;c;ZWNobyBoaQ==\x1b\\',
  '\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\',
  '\x1b[2K\x1b[1A\x1b[1;1H\x1b[?25l',
  '\x1bPdevice control\x1b\\',
  '\x1b_app program command\x1b\\',
  '\x9b31m\x9d0;c1 osc\x07',
  'abc\u202edcba\u2066x\u2069',
  'mark\u200fed\u061c and\u2028separated',
  'bell\x07 back\x08 cr\r vt\x0b del\x7f nul\x00',
  '\x1b7\x1b8\x1bc\x1b(0',
].join(' | ');

function controls(text: string): string[] {
  // What may remain: SGR colour sequences, tab and newline.
  const stripped = text.replace(/\x1b\[[0-9;:]*m/g, '');
  return [...stripped].filter((ch) => /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(ch)).map((ch) => ch.codePointAt(0)!.toString(16));
}

test('terminal text keeps colours, tabs and newlines and drops every other escape and control', () => {
  assert.equal(terminalText('\x1b[31mred\x1b[0m\tand\nnext'), '\x1b[31mred\x1b[0m\tand\nnext');
  const out = terminalText(HOSTILE);
  assert.deepEqual(controls(out), []);
  assert.doesNotMatch(out, /pwned title|ZWNobyBoaQ|evil\.example|device control|app program command/, 'payloads of the dropped sequences are dropped with them');
  assert.match(out, /link/, 'the text a hyperlink wrapped stays');
  assert.match(out, /abcdcbax/, 'bidi overrides go, the letters stay');
});

test('log lines, step names and messages from a build cannot rewrite the terminal', () => {
  const sink = new PassThrough();
  let text = '';
  sink.setEncoding('utf8').on('data', (d: string) => (text += d));
  const printer = new LogPrinter(sink as unknown as NodeJS.WriteStream, sink as unknown as NodeJS.WriteStream);
  const entries: Array<Partial<LogEntry>> = [
    { stream: 'system', phase: 'CUSTOM', marker: 'START_PHASE', text: `step ${HOSTILE}` },
    { stream: 'stdout', phase: 'CUSTOM', text: `\x1b[32mgreen\x1b[0m ${HOSTILE}` },
    { stream: 'stderr', phase: 'CUSTOM', text: HOSTILE },
    { stream: 'system', phase: 'CUSTOM', marker: 'END_PHASE', text: `step: failed ${HOSTILE}`, result: 'failed', durationMs: 10 },
  ];
  for (const e of entries) printer.entry({ attempt: 1, t: 0, stream: 'stdout', text: '', ...e } as LogEntry);
  printer.pause();
  printer.entry({ attempt: 1, t: 0, stream: 'stdout', text: `buffered ${HOSTILE}` } as LogEntry);
  printer.resume();
  printer.message(`message ${HOSTILE}`);
  assert.deepEqual(controls(text), []);
  assert.match(text, /\x1b\[32mgreen\x1b\[0m|green/, 'the line itself is printed');
  assert.match(text, /buffered/);
});

test('--json writes DEL, C1 and bidi characters as escapes and parses back to the same value', () => {
  const value = { message: HOSTILE, name: 'a\u200eb\u061cc\u2028d\u2029e\x9b', nested: [{ line: '\u202eevil' }] };
  for (const text of [jsonText(value), jsonText(value, 2)]) {
    assert.deepEqual(JSON.parse(text), value);
    assert.deepEqual([...text].filter((ch) => /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(ch)), []);
  }
});
