/**
 * Ctrl-C while the source is uploading: `build` says nothing was submitted for that platform and exits
 * 130, and indeed the controller has no build. The upload is held mid-way by a proxy in front of a real
 * controller that never answers upload requests (everything else passes through).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runJson, spawnCli, waitForExit } from './helpers/cli.js';
import { startMesh } from './helpers/mesh.js';
import { makeFixtureProject } from './helpers/fixture-project.js';

void test('Ctrl-C during the upload says nothing was submitted, and nothing was', async (t) => {
  const mesh = await startMesh(t);
  const target = new URL(mesh.url);
  let uploading = false;
  const proxy = createServer((req, res) => {
    const isUpload = (req.method === 'POST' || req.method === 'PUT') && !(req.headers['content-type'] ?? '').startsWith('application/json');
    if (isUpload) {
      uploading = true;
      req.resume(); // read and drop: the upload never completes
      return;
    }
    const upstream = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  t.after(() => proxy.closeAllConnections());
  t.after(() => proxy.close());
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

  const project = makeFixtureProject(t);
  const build = spawnCli(['build', '--platform', 'web', '--profile', 'test'], { env: { ...mesh.env, BUILDMESH_URL: proxyUrl }, cwd: project });
  t.after(() => build.kill('SIGKILL'));
  for (let i = 0; i < 300 && !uploading; i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(uploading, `the upload started:\n${build.output.stderr}`);
  build.kill('SIGINT');
  const exit = await waitForExit(build, 30_000);
  assert.equal(exit.code, 130, build.output.stderr);
  assert.match(build.output.stderr, /Interrupted during the upload: nothing was submitted for web\./);

  const { builds } = await runJson<{ builds: unknown[] }>(['list', '--json'], { env: mesh.env });
  assert.equal(builds.length, 0);
});
