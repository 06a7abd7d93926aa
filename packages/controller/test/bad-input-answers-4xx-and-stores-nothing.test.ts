import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { startControllerProcess, type ControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, enrollWorker, eventually, keepLeased, streamOf, tinyTarGz, type Tenant } from './helpers/fixtures.js';
import { blobState, listFiles } from './helpers/data-dir.js';
import { multipartPieces, rawRequest, type RawResult } from './helpers/raw-http.js';

const MAX_SOURCE = 1024 * 1024;
const IDLE_MS = 800;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Chunked upload via node:http; resolves with the answer even if it comes before the body is done. */
function chunkedUpload(port: number, path: string, headers: Record<string, string>, pieces: Buffer[]): Promise<{ status: number; code?: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => {
        let code: string | undefined;
        try {
          code = (JSON.parse(body) as { error?: { code?: string } }).error?.code;
        } catch {
          code = undefined;
        }
        resolve({ status: res.statusCode!, code });
        req.destroy();
      });
    });
    req.on('error', reject);
    void (async () => {
      for (const piece of pieces) {
        if (req.destroyed) return;
        if (!req.write(piece)) await new Promise((r) => req.once('drain', r));
      }
      req.end();
    })().catch(() => undefined);
  });
}

function assertRefused(result: RawResult, what: string, expected?: { status: number; code?: string }): void {
  if (expected) {
    assert.equal(result.status, expected.status, `${what}: ${result.text.slice(0, 300)}`);
    if (expected.code) assert.equal(result.code, expected.code, `${what}: ${result.text.slice(0, 300)}`);
  } else {
    assert.ok(result.status !== undefined && result.status >= 400 && result.status < 500, `${what}: expected a 4xx, got ${result.text.slice(0, 300)}`);
  }
}

test('bad input answers 4xx, the process stays up, and nothing is stored', { timeout: 240_000 }, async (t) => {
  const controller: ControllerProcess = await startControllerProcess({
    env: { BUILDMESH_MAX_SOURCE_BYTES: String(MAX_SOURCE), BUILDMESH_MAX_ARTIFACT_BYTES: String(MAX_SOURCE), BUILDMESH_BODY_IDLE_TIMEOUT_MS: String(IDLE_MS) },
  });
  try {
    const tenant: Tenant = await createTenant(controller, 'acme');
    const auth = `Bearer ${tenant.tokens.member}`;
    // A worker with a live attempt, so worker routes fail only for the reason under test.
    const worker = await enrollWorker(tenant.admin, { platforms: ['web'] });
    const live = await tenant.member.createBuild(buildSpec({ platform: 'web' }), streamOf(await tinyTarGz('live')));
    const job = await worker.client.claim(2000);
    assert.equal(job?.build.id, live.id);
    const stopHeartbeats = keepLeased(worker, job.attempt.id);
    const attemptId = job.attempt.id;
    const workerAuth = `Bearer ${worker.credential}`;

    const baseline = await blobState(controller.dataDir);
    const spec = buildSpec({ project: 'bad-input' });
    const bigSource = randomBytes(600 * 1024); // larger than what is held in memory: it spills to a temp file

    await t.test('truncated multipart: the client cuts the socket mid-source', async () => {
      const { contentType, pieces, length } = multipartPieces([{ name: 'spec', json: spec }, { name: 'source', file: bigSource }]);
      const [specPart, sourceHead, source] = pieces as [Buffer, Buffer, Buffer];
      const result = await rawRequest({
        port: controller.port,
        method: 'POST',
        path: '/v1/builds',
        headers: { authorization: auth, 'content-type': contentType, 'content-length': length },
        chunks: [specPart, sourceHead, source.subarray(0, 200 * 1024), source.subarray(200 * 1024, 400 * 1024)],
        pauseMs: 50,
        then: 'cut',
      });
      assert.equal(result.status, undefined, 'no answer was ever due');
    });

    await t.test('multipart that ends without its closing boundary', async () => {
      const { contentType, pieces } = multipartPieces([{ name: 'spec', json: spec }, { name: 'source', file: bigSource }]);
      const body = Buffer.concat(pieces.slice(0, -2)); // no CRLF, no closing boundary
      const result = await rawRequest({
        port: controller.port,
        method: 'POST',
        path: '/v1/builds',
        headers: { authorization: auth, 'content-type': contentType, 'content-length': body.length },
        chunks: [body],
        then: 'wait',
      });
      assertRefused(result, 'unterminated multipart', { status: 400 });
    });

    await t.test('declared Content-Length over the limit: refused before reading', async () => {
      for (const [path, type, ctype] of [
        ['/v1/builds', 'multipart', 'multipart/form-data; boundary=x'],
        [`/v1/attempts/${attemptId}/artifacts/app.apk`, 'stream', 'application/octet-stream'],
        ['/v1/projects', 'json', 'application/json'],
        [`/v1/attempts/${attemptId}/logs`, 'json', 'application/json'],
      ] as const) {
        const result = await rawRequest({
          port: controller.port,
          method: type === 'stream' ? 'PUT' : 'POST',
          path,
          headers: {
            authorization: path.startsWith('/v1/attempts') ? workerAuth : auth,
            'content-type': ctype,
            'content-length': 100 * 1024 * 1024,
            'x-buildmesh-sha256': '0'.repeat(64),
          },
          then: 'wait',
        });
        assertRefused(result, `${path} with a huge Content-Length`, { status: 413, code: 'PAYLOAD_TOO_LARGE' });
      }
    });

    await t.test('a chunked body that exceeds the limit while streaming', async () => {
      const { contentType, pieces } = multipartPieces([{ name: 'spec', json: spec }, { name: 'source', file: randomBytes(MAX_SOURCE + 512 * 1024) }]);
      const split = pieces.flatMap((p) => Array.from({ length: Math.ceil(p.length / 65536) }, (_, i) => p.subarray(i * 65536, (i + 1) * 65536)));
      const result = await chunkedUpload(controller.port, '/v1/builds', { authorization: auth, 'content-type': contentType }, split);
      assert.deepEqual(result, { status: 413, code: 'PAYLOAD_TOO_LARGE' });
      const json = await chunkedUpload(controller.port, '/v1/projects', { authorization: auth, 'content-type': 'application/json' }, [
        Buffer.from('{"name":"'),
        Buffer.alloc(2 * 1024 * 1024, 'a'),
        Buffer.from('"}'),
      ]);
      assert.deepEqual(json, { status: 413, code: 'PAYLOAD_TOO_LARGE' });
    });

    await t.test('wrong content types', async () => {
      const cases: Array<[string, string, string, string | undefined, string]> = [
        ['POST', '/v1/builds', auth, 'text/plain', '{}'],
        ['PUT', `/v1/blobs/${'0'.repeat(64)}`, auth, 'application/json', '{}'],
        ['POST', '/v1/builds', auth, undefined, 'spec'],
        ['POST', '/v1/projects', auth, 'text/plain', '{"name":"x"}'],
        ['POST', '/v1/projects', auth, 'multipart/form-data; boundary=x', '--x--'],
        ['POST', '/v1/projects', auth, 'application/x-www-form-urlencoded', 'name=x'],
        ['PUT', `/v1/attempts/${attemptId}/artifacts/app.apk`, workerAuth, 'application/json', '{}'],
        ['POST', `/v1/attempts/${attemptId}/logs`, workerAuth, 'application/octet-stream', 'xx'],
      ];
      for (const [method, path, authorization, type, body] of cases) {
        const response = await fetch(controller.url + path, {
          method,
          headers: { authorization, ...(type ? { 'content-type': type } : {}), [`x-buildmesh-sha256`]: sha(Buffer.from(body)) },
          body,
        });
        assert.equal(response.status, 415, `${method} ${path} as ${type}`);
        assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'UNSUPPORTED_MEDIA_TYPE');
      }
    });

    await t.test('malformed and invalid JSON', async () => {
      const json = async (path: string, body: string, authorization = auth) => {
        const response = await fetch(controller.url + path, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body });
        return [response.status, ((await response.json()) as { error: { code: string } }).error.code] as const;
      };
      assert.deepEqual(await json('/v1/projects', '{"name":'), [400, 'MALFORMED_JSON']);
      assert.deepEqual(await json('/v1/projects', ''), [400, 'MALFORMED_JSON']);
      assert.deepEqual(await json('/v1/projects', '{"name":"x","__proto__":{"admin":true}}'), [400, 'MALFORMED_JSON']);
      assert.deepEqual(await json('/v1/projects', '{"name":"../x"}'), [400, 'VALIDATION_FAILED']);
      assert.deepEqual(await json('/v1/projects', '[]'), [400, 'VALIDATION_FAILED']);
      assert.deepEqual(await json(`/v1/attempts/${attemptId}/logs`, '{"seq":1,"lines":[{"t":1,', workerAuth), [400, 'MALFORMED_JSON']);
      assert.deepEqual(await json(`/v1/attempts/${attemptId}/logs`, '{"seq":0,"lines":[]}', workerAuth), [400, 'VALIDATION_FAILED']);
      assert.deepEqual(await json(`/v1/attempts/${attemptId}/finish`, '{"outcome":"exploded"}', workerAuth), [400, 'VALIDATION_FAILED']);
      assert.deepEqual(await json('/v1/worker/claim', '{"waitMs":-5}', workerAuth), [400, 'VALIDATION_FAILED']);

      const source = await tinyTarGz('never-stored');
      const submit = async (parts: Parameters<typeof multipartPieces>[0]) => {
        const { contentType, pieces } = multipartPieces(parts);
        const response = await fetch(`${controller.url}/v1/builds`, { method: 'POST', headers: { authorization: auth, 'content-type': contentType }, body: Buffer.concat(pieces) });
        return [response.status, ((await response.json()) as { error: { code: string; message: string } }).error.code] as const;
      };
      assert.deepEqual(await submit([{ name: 'spec', raw: '{bad', contentType: 'text/plain' }, { name: 'source', file: source }]), [400, 'MALFORMED_JSON']);
      const [status] = await submit([{ name: 'spec', raw: '{bad' }, { name: 'source', file: source }]);
      assert.equal(status, 400);
      assert.deepEqual(await submit([{ name: 'spec', json: { ...spec, platform: 'windows' } }, { name: 'source', file: source }]), [400, 'VALIDATION_FAILED']);
      assert.deepEqual(await submit([{ name: 'spec', json: { ...spec, extra: 1 } }, { name: 'source', file: source }]), [400, 'VALIDATION_FAILED']);
      assert.deepEqual(await submit([{ name: 'spec', json: spec }, { name: 'credentials', raw: '{"android":', contentType: 'text/plain' }, { name: 'source', file: source }]), [400, 'MALFORMED_JSON']);
      assert.deepEqual(await submit([{ name: 'spec', json: spec }, { name: 'credentials', json: { android: { keystore: {} } } }, { name: 'source', file: source }]), [400, 'VALIDATION_FAILED']);
      assert.deepEqual(await submit([{ name: 'source', file: source }, { name: 'spec', json: spec }]), [400, 'VALIDATION_FAILED']);
      assert.deepEqual(await submit([{ name: 'spec', json: spec }]), [400, 'VALIDATION_FAILED']);
      assert.deepEqual(await submit([{ name: 'spec', json: spec }, { name: 'source', file: source }, { name: 'extra', json: 1 }]), [400, 'VALIDATION_FAILED']);
      assert.deepEqual(await submit([{ name: 'spec', json: spec }, { name: 'source', file: source }, { name: 'source', file: source }]), [400, 'BAD_REQUEST']);
    });

    await t.test('traversal in every id and file name parameter', async () => {
      const evil = ['..', '..%2F..%2Fetc%2Fpasswd', '%2e%2e%2f%2e%2e', '..%5C..%5Cwindows', 'bld_..%2F..%2F..%2F..%2F..%2F..', 'a%00b', '%252e%252e%252f', '.hidden', '%2Fetc%2Fpasswd'];
      const routes: Array<[string, string, 'user' | 'worker']> = [
        ['GET', '/v1/builds/:x', 'user'],
        ['POST', '/v1/builds/:x/cancel', 'user'],
        ['POST', '/v1/builds/:x/retry', 'user'],
        ['GET', '/v1/builds/:x/logs', 'user'],
        ['GET', '/v1/builds/:x/artifacts', 'user'],
        ['GET', `/v1/builds/:x/artifacts/art_${'0'.repeat(26)}`, 'user'],
        ['GET', `/v1/builds/${live.id}/artifacts/:x`, 'user'],
        ['DELETE', '/v1/tokens/:x', 'user'],
        ['DELETE', '/v1/enrollment-tokens/:x', 'user'],
        ['DELETE', '/v1/workers/:x', 'user'],
        ['GET', '/v1/projects/:x/credentials', 'user'],
        ['DELETE', '/v1/projects/bad-input/credentials/:x', 'user'],
        ['GET', '/v1/projects/:x/secrets', 'user'],
        ['DELETE', '/v1/projects/bad-input/secrets/:x', 'user'],
        ['POST', '/v1/attempts/:x/heartbeat', 'worker'],
        ['GET', '/v1/attempts/:x/source', 'worker'],
        ['GET', '/v1/attempts/:x/secrets', 'worker'],
        ['POST', '/v1/attempts/:x/finish', 'worker'],
      ];
      const adminAuth = `Bearer ${tenant.tokens.admin}`;
      for (const [method, template, who] of routes) {
        for (const value of evil) {
          const path = template.replace(':x', value);
          const response = await fetch(controller.url + path, {
            method,
            headers: { authorization: who === 'worker' ? workerAuth : adminAuth, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
            body: method === 'POST' ? (template.endsWith('finish') ? '{"outcome":"succeeded"}' : '{}') : undefined,
          });
          assert.ok(response.status === 400 || response.status === 404, `${method} ${path}: ${response.status}`);
          await response.arrayBuffer();
        }
      }
      // Artifact names: a real upload through a live attempt, with only the name wrong.
      const bytes = Buffer.from('payload');
      for (const name of [...evil, 'a%2Fb', 'a%5Cb', `${'x'.repeat(201)}`]) {
        const response = await fetch(`${controller.url}/v1/attempts/${attemptId}/artifacts/${name}`, {
          method: 'PUT',
          headers: { authorization: workerAuth, 'content-type': 'application/octet-stream', 'x-buildmesh-sha256': sha(bytes) },
          body: bytes,
        });
        assert.ok(response.status === 400 || response.status === 404, `artifact name ${name}: ${response.status}`);
        await response.arrayBuffer();
      }
      assert.deepEqual((await tenant.reader.listArtifacts(live.id)).artifacts, []);
      // The build and the worker the ids above resembled are untouched.
      assert.equal((await tenant.reader.getBuild(live.id)).status, 'running');
      const names = await listFiles(controller.dataDir);
      assert.ok(!names.some((n) => /passwd|windows|escape|hidden/.test(n)), `unexpected files: ${names.join(', ')}`);
    });

    await t.test('a stalled upload is cut off after the idle timeout', async () => {
      const { contentType, pieces, length } = multipartPieces([{ name: 'spec', json: spec }, { name: 'source', file: bigSource }]);
      const stalls = [
        { what: 'multipart, mid-source', method: 'POST', path: '/v1/builds', authorization: auth, type: contentType, length, chunks: [pieces[0]!, pieces[1]!, pieces[2]!.subarray(0, 300 * 1024)] },
        { what: 'multipart, before the first byte', method: 'POST', path: '/v1/builds', authorization: auth, type: contentType, length, chunks: [] },
        { what: 'multipart, inside the spec part', method: 'POST', path: '/v1/builds', authorization: auth, type: contentType, length, chunks: [pieces[0]!.subarray(0, 40)] },
        { what: 'JSON body', method: 'POST', path: '/v1/projects', authorization: auth, type: 'application/json', length: 100, chunks: [Buffer.from('{"name":')] },
        {
          what: 'artifact',
          method: 'PUT',
          path: `/v1/attempts/${attemptId}/artifacts/stalled.apk`,
          authorization: workerAuth,
          type: 'application/octet-stream',
          length: 500 * 1024,
          chunks: [randomBytes(300 * 1024)],
        },
      ];
      const results = await Promise.all(
        stalls.map((s) =>
          rawRequest({
            port: controller.port,
            method: s.method,
            path: s.path,
            headers: { authorization: s.authorization, 'content-type': s.type, 'content-length': s.length, 'x-buildmesh-sha256': '0'.repeat(64) },
            chunks: s.chunks,
            then: 'stall',
            timeoutMs: IDLE_MS + 10_000,
          }),
        ),
      );
      for (const [i, result] of results.entries()) {
        const what = stalls[i]!.what;
        t.diagnostic(`${what}: ${result.status ?? 'cut'} after ${result.elapsedMs} ms`);
        // Either a 408 that closes the connection, or (when no answer can be sent) a cut connection.
        if (result.status !== undefined) {
          assert.equal(result.status, 408, `${what}: ${result.text.slice(0, 200)}`);
          assert.equal(result.code, 'BODY_TIMEOUT');
          assert.match(result.text, /\r\nconnection: close\r\n/i, `${what}: the 408 closes the connection`);
        } else {
          assert.ok(result.closedByServer, `${what}: the server cut the stalled connection`);
        }
        assert.ok(result.elapsedMs >= IDLE_MS - 100, `${what}: cut after ${result.elapsedMs} ms, before the idle timeout`);
        assert.ok(result.elapsedMs < IDLE_MS + 8000, `${what}: cut only after ${result.elapsedMs} ms`);
      }
    });

    stopHeartbeats();

    // The process is alive and answers, and nothing was stored by any of the above.
    assert.ok(controller.alive(), 'the controller process is alive');
    assert.equal((await tenant.reader.listProjects()).projects.some((p) => p.name === 'bad-input'), false, 'no project was created');
    const builds = (await tenant.reader.listBuilds()).builds.map((b) => b.id);
    assert.deepEqual(builds, [live.id], 'no build row was created');
    await eventually(async () => {
      const now = await blobState(controller.dataDir);
      return now.tmp.length === 0 && JSON.stringify(now.blobs) === JSON.stringify(baseline.blobs);
    }, 5000, `no blob or temp file left (now ${JSON.stringify(await blobState(controller.dataDir))}, before ${JSON.stringify(baseline)})`);
    const health = await controller.admin.health();
    assert.equal(health.status, 'ok');
    // No client mistake was treated as a server fault (those are logged at error level).
    const faults = controller.output().split('\n').filter((l) => /"level":(50|60)/.test(l));
    assert.deepEqual(faults, [], 'server faults were logged');
  } finally {
    await controller.dispose();
  }
});
