/**
 * A custom build config's steps head their log sections with the names written in the YAML (the
 * worker sends them as the START_PHASE text), not "CUSTOM"; EAS's own phases keep their names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { LogEntry } from '@buildmesh/protocol';
import { LogPrinter } from '../src/follow.js';

function print(entries: Array<Partial<LogEntry>>): string {
  const sink = new PassThrough();
  let text = '';
  sink.setEncoding('utf8').on('data', (d: string) => (text += d));
  const printer = new LogPrinter(sink as unknown as NodeJS.WriteStream, sink as unknown as NodeJS.WriteStream);
  for (const e of entries) printer.entry({ attempt: 1, t: 0, stream: 'stdout', text: '', ...e } as LogEntry);
  return text;
}

void test('custom steps head their log sections by their YAML names, standard phases by theirs', () => {
  const text = print([
    { stream: 'system', phase: 'INSTALL_DEPENDENCIES', marker: 'START_PHASE', text: 'Install dependencies' },
    { stream: 'system', phase: 'INSTALL_DEPENDENCIES', marker: 'END_PHASE', text: 'Install dependencies: success in 1s', result: 'success', durationMs: 1000 },
    { stream: 'system', phase: 'CUSTOM', marker: 'START_PHASE', text: 'Write the artifact' },
    { stream: 'stdout', phase: 'CUSTOM', text: 'wrote out/app.txt' },
    { stream: 'system', phase: 'CUSTOM', marker: 'END_PHASE', text: 'Write the artifact: success in 0s', result: 'success', durationMs: 10 },
    { stream: 'system', phase: 'bundle', marker: 'START_PHASE', text: 'Bundle the app' },
  ]);
  assert.match(text, /^== INSTALL_DEPENDENCIES$/m);
  assert.match(text, /^== Write the artifact$/m);
  assert.match(text, /^== Write the artifact: success in/m);
  assert.match(text, /^== Bundle the app$/m);
  assert.doesNotMatch(text, /CUSTOM/);
});
