import { test } from 'node:test';
import assert from 'node:assert/strict';
import { probeBwrap, selectExecutor } from '../src/sandbox/select.js';

// CI installs bubblewrap: there a missing sandbox must fail the run, not skip it.
const works = (process.platform === 'linux' && (await probeBwrap()).ok) || Boolean(process.env.CI);

void test('auto picks bwrap where it works, and a fresh executor per attempt', { skip: works ? false : 'bwrap unusable here' }, async () => {
  const factory = await selectExecutor('auto', { hiddenPaths: [] });
  assert.equal(factory.name, 'bwrap');
  assert.notEqual(factory.create(), factory.create());
});

void test('auto falls back to none when bwrap does not work; bwrap mode refuses to', async () => {
  const broken = { hiddenPaths: [], bwrapPath: '/nonexistent/bwrap' };
  const factory = await selectExecutor('auto', broken);
  assert.equal(factory.name, 'none');
  assert.match(factory.reason, /unconfined/);
  await assert.rejects(selectExecutor('bwrap', broken), { code: 'SANDBOX_UNAVAILABLE' });
  assert.equal((await selectExecutor('none', broken)).name, 'none');
});
