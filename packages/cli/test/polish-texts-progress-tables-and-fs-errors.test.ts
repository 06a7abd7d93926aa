/**
 * Texts from the polish list that need no controller: a file-system error reads as what was done
 * to which path (not "ENOTDIR: ENOTDIR: …"); the first upload frame shows no rate or ETA measured
 * over a few milliseconds; tables use the terminal's width instead of cutting at 80 columns; an
 * overriding BUILDMESH_URL is named when it is the cause.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import pc from 'picocolors';
import { describeError, renderTable } from '../src/output.js';
import { createProgress } from '../src/progress.js';
import { runCli } from './helpers/cli.js';
import { freePort } from './helpers/mesh.js';

void test('a file-system error names the operation and the path once', async () => {
  const err = await mkdir('/etc/hostname/sub').catch((e: unknown) => e);
  const d = describeError(err);
  assert.equal(d.code, 'ENOTDIR');
  assert.equal(d.message, 'cannot mkdir /etc/hostname/sub: not a directory');
});

void test('the first upload frame shows no rate and no ETA', () => {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream & PassThrough;
  stream.isTTY = true;
  let text = '';
  (stream as PassThrough).setEncoding('utf8').on('data', (d: string) => (text += d));
  const progress = createProgress('uploading web', 80 * 1024 * 1024, stream);
  progress.update(34_000);
  progress.fail();
  assert.match(text, /uploading web/);
  assert.doesNotMatch(text, /\/s|ETA/);
});

void test('tables use the width they are given: a wide terminal shows long names whole', () => {
  const rows = [{ name: 'a-rather-long-worker-name-on-the-build-farm-01', platforms: 'android,ios,web' }];
  const columns = [
    { header: 'NAME', value: (r: (typeof rows)[0]) => r.name, max: 28 },
    { header: 'PLATFORMS', value: (r: (typeof rows)[0]) => r.platforms },
  ];
  const c = pc.createColors(false);
  assert.match(renderTable(rows, columns, c, 200), /a-rather-long-worker-name-on-the-build-farm-01 {2}android,ios,web/);
  const narrow = renderTable(rows, columns, c, 50);
  assert.match(narrow, /a-rather-long-worker-name-on\S*… {2}android,ios,web/);
  for (const line of narrow.split('\n')) assert.ok(line.length <= 50, `fits 50 columns: ${line}`);
});

void test('an overriding BUILDMESH_URL is named when it is the cause', async () => {
  const configHome = mkdtempSync(join(tmpdir(), 'buildmesh-env-override-'));
  try {
    const url = `http://127.0.0.1:${await freePort()}`;
    const noToken = await runCli(['whoami'], { env: { XDG_CONFIG_HOME: configHome, BUILDMESH_URL: url } });
    assert.match(noToken.stderr, new RegExp(`error NOT_LOGGED_IN: no token for ${url} \\(the URL in BUILDMESH_URL\\)`));
    const unreachable = await runCli(['whoami'], { env: { XDG_CONFIG_HOME: configHome, BUILDMESH_URL: url, BUILDMESH_TOKEN: 'bmt_x-0123456789abcdef0123456789' } });
    assert.match(unreachable.stderr, new RegExp(`error CONTROLLER_UNREACHABLE: .* — BUILDMESH_URL \\(${url}\\) overrides the saved login`));
  } finally {
    rmSync(configHome, { recursive: true, force: true });
  }
});
