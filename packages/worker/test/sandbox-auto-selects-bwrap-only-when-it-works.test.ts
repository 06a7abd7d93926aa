import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectExecutor } from '../src/sandbox/select.js';
import { bwrapSkipper, TEST_BWRAP_PATH } from '../../../test/helpers/bwrap.js';

const bwrap = await bwrapSkipper();

void test('auto picks bwrap where it works, and a fresh executor per attempt', { skip: bwrap.skip() }, async () => {
  const factory = await selectExecutor('auto', { hiddenPaths: [], bwrapPath: TEST_BWRAP_PATH });
  assert.equal(factory.name, 'bwrap');
  assert.notEqual(factory.create(), factory.create());
});

void test('auto falls back to none when bwrap does not work; bwrap mode refuses to', async () => {
  const broken = { hiddenPaths: [], bwrapPath: '/nonexistent/bwrap' };
  const factory = await selectExecutor('auto', broken);
  assert.equal(factory.name, 'none');
  assert.match(factory.reason, /unconfined/);
  // Loud, with the install command: the worker prints it once at start.
  assert.match(factory.warning ?? '', /NO SANDBOX.*apt-get install bubblewrap/);
  await assert.rejects(selectExecutor('bwrap', broken), { code: 'SANDBOX_UNAVAILABLE' });
  assert.equal((await selectExecutor('none', broken)).name, 'none');
});
