import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CONTROLLER_SETTINGS } from '../../packages/controller/src/config.js';
import { WORKER_OPTIONS } from '../../packages/worker/src/config.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

test('the README names every controller and worker setting with its default', () => {
  for (const s of CONTROLLER_SETTINGS) {
    assert.ok(readme.includes(`\`${s.env}\``), `README lacks ${s.env}`);
    if (s.default) assert.ok(readme.includes(`\`${s.default}\``), `README lacks the default of ${s.env} (${s.default})`);
  }
  for (const o of WORKER_OPTIONS) assert.ok(readme.includes(`\`${o.env}\``), `README lacks ${o.env}`);
});

test('the README shows the two commands of the quick start', () => {
  assert.match(readme, /npm install && npx buildmesh up/);
  assert.match(readme, /npm test/);
  assert.match(readme, /npm run bench/);
});
