/** The echoed command line shows no stray ⏎ for the newline a YAML block scalar (`run: |`) ends with. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatArgv } from '../src/runner/run-phases.js';

void test('an echoed command carries no stray ⏎ for a trailing newline; inner newlines still show', () => {
  assert.equal(formatArgv(['bash', '-eo', 'pipefail', '-c', 'echo hi\n']), "bash -eo pipefail -c 'echo hi'");
  assert.equal(formatArgv(['bash', '-c', 'echo one\necho two\n']), "bash -c 'echo one⏎echo two'");
});
