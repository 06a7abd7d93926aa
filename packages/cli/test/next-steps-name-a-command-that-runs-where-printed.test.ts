// The "next step" lines name a command that runs where they are printed: the installed name when
// the user's PATH has this CLI, `npx buildmesh` in the checkout — also when the CLI itself runs
// under npx, whose node_modules/.bin on PATH is gone in the user's next terminal — else its path.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cli } from '../src/invocation.js';
import { BIN } from './helpers/cli.js';

const checkout = fileURLToPath(new URL('../../..', import.meta.url));

test('the printed command is npx in the checkout (even under npx), the installed name on PATH, else the path', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'buildmesh-invocation-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const npxBin = join(dir, 'project', 'node_modules', '.bin');
  const globalBin = join(dir, 'global', 'bin');
  for (const d of [npxBin, globalBin]) {
    mkdirSync(d, { recursive: true });
    symlinkSync(BIN, join(d, 'buildmesh'));
  }
  assert.equal(cli({ PATH: npxBin }, checkout, BIN), 'npx buildmesh');
  assert.equal(cli({ PATH: '' }, checkout, BIN), 'npx buildmesh');
  assert.equal(cli({ PATH: `${npxBin}:${globalBin}` }, dir, BIN), 'buildmesh');
  assert.equal(cli({ PATH: npxBin }, dir, BIN), `node ${realpathSync(BIN)}`);
});
