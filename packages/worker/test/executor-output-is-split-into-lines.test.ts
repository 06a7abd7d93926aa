import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NoneExecutor } from '../src/sandbox/none.js';
import { LineSplitter } from '../src/sandbox/spawn-tree.js';

void test('lines survive any chunking: CRLF, a multi-byte character split in two, a final partial line', () => {
  const lines: string[] = [];
  const splitter = new LineSplitter((line) => lines.push(line));
  const bytes = Buffer.from('first\r\nsecond €uro\n\nno newline at the end');
  const euro = bytes.indexOf(Buffer.from('€'));
  for (const [from, to] of [[0, 6], [6, euro + 1], [euro + 1, bytes.length]] as const) splitter.push(bytes.subarray(from, to));
  assert.deepEqual(lines, ['first', 'second €uro', '']);
  splitter.flush();
  assert.deepEqual(lines, ['first', 'second €uro', '', 'no newline at the end']);
});

void test('a step\'s stdout and stderr arrive as separate streams of lines', async (t) => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'bm-lines-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const executor = new NoneExecutor();
  await executor.prepare(root);
  const got: string[] = [];
  const result = await executor.run({
    argv: ['bash', '-c', 'printf "out 1\\r\\nout 2"; printf "err 1\\n" >&2; exit 4'],
    cwd: root,
    env: {},
    network: false,
    onLine: (stream, line) => got.push(`${stream}: ${line}`),
  });
  assert.equal(result.exitCode, 4);
  assert.deepEqual(got.sort(), ['stderr: err 1', 'stdout: out 1', 'stdout: out 2']);
  const missing = await executor.run({ argv: ['no-such-command-bm'], cwd: root, env: {}, network: false, onLine: (_s, line) => got.push(line) });
  assert.equal(missing.exitCode, 127);
  await assert.rejects(executor.run({ argv: ['true'], cwd: os.tmpdir(), env: {}, network: false, onLine: () => {} }), { code: 'CWD_OUTSIDE_WORKSPACE' });
  await executor.dispose();
});
