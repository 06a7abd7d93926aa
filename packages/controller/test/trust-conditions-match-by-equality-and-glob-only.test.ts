import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conditionMatches, globMatches, parseCondition } from '../src/auth/trust-condition.js';

const matches = (condition: string, claims: Record<string, unknown>) => conditionMatches(parseCondition(condition), claims);

test('trust conditions: == and != with * globs, joined by &&; absent or non-string claims never match', () => {
  const claims = { repository: 'acme/app', ref: 'refs/heads/release-1.2', sub: 'repo:acme/app:ref:refs/heads/release-1.2', run_id: 7, admin: true };
  assert.equal(matches('repository == "acme/app"', claims), true);
  assert.equal(matches('repository == "acme/ap"', claims), false);
  assert.equal(matches('repository == "acme/app" && ref == "refs/heads/release-*"', claims), true);
  assert.equal(matches('repository == "acme/app" && ref == "refs/heads/main"', claims), false);
  assert.equal(matches('ref != "refs/heads/main"', claims), true);
  assert.equal(matches('ref != "refs/heads/*"', claims), false);
  assert.equal(matches('sub == "repo:acme/*:ref:*"', claims), true);
  assert.equal(matches('repository == "*"', claims), true);
  assert.equal(matches('environment != "prod"', claims), false, 'an absent claim matches neither == nor !=');
  assert.equal(matches('run_id == "7"', claims), false, 'numbers are not strings');
  assert.equal(matches('admin == "true"', claims), false);
  assert.equal(matches('toString == "*"', claims), false, 'only own claims');
  assert.equal(matches('a == "x\\"y\\\\"', { a: 'x"y\\' }), true);
});

test('a glob is literal outside * and stays fast on hostile input', () => {
  assert.equal(globMatches('a.b', 'aXb'), false);
  assert.equal(globMatches('a?b', 'aXb'), false);
  assert.equal(globMatches('a*b*c', 'aXXbYYc'), true);
  assert.equal(globMatches('', ''), true);
  assert.equal(globMatches('*', ''), true);
  assert.equal(globMatches('*a*a*a*a*a*a*b', 'a'.repeat(5000)), false);
});

test('malformed conditions are refused with the reason', () => {
  for (const [text, reason] of [
    ['', /claim name/],
    ['repository', /== or !=/],
    ['repository == acme', /quoted value/],
    ['repository == "acme', /unterminated/],
    ['repository == "a" || ref == "b"', /&& or the end/],
    ['repository == "a" &&', /claim name/],
    ['repository == "\\n"', /escaped/],
    ['process.exit() == "1"', /== or !=/],
    [Array.from({ length: 17 }, (_, i) => `c${i} == "x"`).join(' && '), /at most 16/],
  ] as const) {
    assert.throws(() => parseCondition(text), reason, text);
  }
});
