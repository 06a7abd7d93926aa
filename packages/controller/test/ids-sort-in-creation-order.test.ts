import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newId } from '../src/ids.js';

test('ids sort in creation order, also within one millisecond, and match the protocol pattern', () => {
  const ids = Array.from({ length: 5000 }, () => newId('bld'));
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids.slice(0, 50)) assert.match(id, /^bld_[0-9a-z]{26}$/);
});
