/**
 * An EAS custom config calling a function BuildMesh does not run (`eas/send_slack_message`) is refused by `build` on this
 * machine, with the same validation the worker runs: the step and the reason, printed once, and not
 * one request reaches the controller. `doctor` fails the profile the same way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runCli } from './helpers/cli.js';
import { makeFixtureProject } from './helpers/fixture-project.js';

const EAS_STYLE = `build:
  name: Standard EAS
  steps:
    - eas/checkout
    - eas/send_slack_message:
        inputs: { message: built }
    - run:
        name: Build
        command: echo hi
`;

void test('a custom config with an unsupported step is refused before any upload, exactly once', async (t) => {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"NOT_FOUND","message":"No such resource."}}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const project = makeFixtureProject(t, { '.eas/build/test.yml': EAS_STYLE });
  const env = { BUILDMESH_URL: url, BUILDMESH_TOKEN: 'bmt_any-token-0123456789abcdef0123' };

  const build = await runCli(['build', '--platform', 'web', '--profile', 'test'], { env, cwd: project });
  assert.equal(build.code, 1, build.stderr);
  assert.match(build.stderr, /error CUSTOM_FUNCTION_UNSUPPORTED: profile "test": \.eas\/build\/test\.yml: step 2: function "eas\/send_slack_message" is not supported by BuildMesh \(.*\); nothing was uploaded — /);
  assert.equal(build.stderr.split('eas/send_slack_message').length - 1, 1, `said once:\n${build.stderr}`);
  assert.deepEqual(requests, [], 'not one request reached the controller');

  const doctor = await runCli(['doctor', '--platform', 'web', '--profile', 'test', '--json'], { env, cwd: project });
  assert.equal(doctor.code, 1);
  const checks = (JSON.parse(doctor.stdout) as { checks: Array<{ id: string; status: string; message: string }> }).checks;
  const eas = checks.find((c) => c.id === 'eas-json');
  assert.equal(eas?.status, 'fail');
  assert.match(eas.message, /step 2: function "eas\/send_slack_message" is not supported by BuildMesh/);
});
