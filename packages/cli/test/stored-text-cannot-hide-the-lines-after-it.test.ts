/**
 * Colour sequences survive terminalText, so a build line, error message or stored build message could
 * switch on concealed (SGR 8) or black-on-black text and leave it on: everything printed after it (the
 * CLI's own "build failed" line, the rest of a table, the shell prompt) would be invisible. A printed
 * text that leaves colours on ends with a reset, and table cells (stored data) carry no escapes at all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import pc from 'picocolors';
import type { LogEntry } from '@buildmesh/protocol';
import { LogPrinter } from '../src/follow.js';
import { renderTable, terminalText } from '../src/output.js';

/** Whether SGR state at the end of `line` is the default (its last SGR, if any, is a reset). */
function endsReset(line: string): boolean {
  const sgrs = line.match(/\x1b\[[0-9;:]*m/g) ?? [];
  const last = sgrs.at(-1);
  return last === undefined || last === '\x1b[0m' || last === '\x1b[m';
}

test('a build line that leaves concealed or invisible colours on is reset before the next line', () => {
  const sink = new PassThrough();
  let text = '';
  sink.setEncoding('utf8').on('data', (d: string) => (text += d));
  const printer = new LogPrinter(sink as unknown as NodeJS.WriteStream, sink as unknown as NodeJS.WriteStream);
  for (const t of ['ok \x1b[8m', '\x1b[30;40mblack on black', '\x1b[31mred\x1b[0m plain', 'plain'])
    printer.entry({ attempt: 1, t: 0, stream: 'stdout', text: t } as LogEntry);
  printer.message('\x1b[1;8mstill hidden?');
  const lines = text.split('\n').filter(Boolean);
  assert.equal(lines.length, 5);
  for (const line of lines) assert.ok(endsReset(line), `line ${JSON.stringify(line)} leaves colours on`);
  assert.equal(terminalText('\x1b[8mhidden\n'), '\x1b[8mhidden\x1b[0m\n', 'the reset comes before the newline');
  assert.equal(terminalText('\x1b[31mred\x1b[0m\tand\nnext'), '\x1b[31mred\x1b[0m\tand\nnext', 'text that resets itself is unchanged');
});

test('table cells from the store carry no escape sequences, colours included', () => {
  const rows = [{ id: 'bld_1', message: '\x1b[8mhide the rest\x1b]0;title\x07' }, { id: 'bld_2', message: 'visible' }];
  const c = pc.createColors(true);
  const table = renderTable(rows, [{ header: 'ID', value: (r) => r.id }, { header: 'MESSAGE', value: (r) => r.message, max: 40 }], c, 120);
  const body = table.split('\n').slice(1).join('\n');
  assert.doesNotMatch(body, /\x1b/, 'no escape in the data rows');
  assert.match(body, /hide the rest/);
  assert.match(body, /bld_2 +visible/, 'widths are those of the text shown');
});
