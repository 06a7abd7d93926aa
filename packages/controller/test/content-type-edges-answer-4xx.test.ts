/**
 * Every Content-Type edge is the client's mistake: multipart without (or with a bad) boundary, a
 * JSON body in another charset, malformed or repeated parameters, a missing or wrong type. Each
 * answers a catalogued 4xx, the process stays up and nothing is stored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, tinyTarGz } from './helpers/fixtures.js';
import { blobState } from './helpers/data-dir.js';
import { multipartPieces, rawRequest } from './helpers/raw-http.js';

test('content-type edges answer 4xx with a catalogue code and store nothing', async () => {
  const controller = await startControllerProcess();
  try {
    const tenant = await createTenant(controller, 'acme');
    const auth = `Bearer ${tenant.tokens.member}`;
    const before = await blobState(controller.dataDir);
    const { pieces } = multipartPieces([{ name: 'spec', json: buildSpec() }, { name: 'source', file: await tinyTarGz('ct-edges') }]);
    const multipartBody = Buffer.concat(pieces);
    const project = (n: number) => Buffer.from(JSON.stringify({ name: `ct-edge-${n}` }));

    const cases: Array<{ what: string; path: string; type: string | undefined; body: Buffer; status: number; code: string }> = [
      { what: 'multipart without a boundary', path: '/v1/builds', type: 'multipart/form-data', body: multipartBody, status: 400, code: 'BAD_REQUEST' },
      { what: 'multipart with only a charset', path: '/v1/builds', type: 'multipart/form-data; charset=utf-8', body: multipartBody, status: 400, code: 'BAD_REQUEST' },
      { what: 'multipart with an empty boundary', path: '/v1/builds', type: 'multipart/form-data; boundary=', body: multipartBody, status: 400, code: 'BAD_REQUEST' },
      { what: 'multipart with a 71-character boundary', path: '/v1/builds', type: `multipart/form-data; boundary=${'b'.repeat(71)}`, body: multipartBody, status: 400, code: 'BAD_REQUEST' },
      { what: 'multipart with two boundaries', path: '/v1/builds', type: 'multipart/form-data; boundary=a; boundary=b', body: multipartBody, status: 400, code: 'BAD_REQUEST' },
      { what: 'multipart with a malformed parameter', path: '/v1/builds', type: 'multipart/form-data; boundary', body: multipartBody, status: 400, code: 'BAD_REQUEST' },
      { what: 'multipart with an unterminated quote', path: '/v1/builds', type: 'multipart/form-data; boundary="abc', body: multipartBody, status: 400, code: 'BAD_REQUEST' },
      { what: 'a build as JSON without a source blob', path: '/v1/builds', type: 'application/json', body: Buffer.from('{}'), status: 400, code: 'VALIDATION_FAILED' },
      { what: 'a build as text', path: '/v1/builds', type: 'text/plain', body: Buffer.from('{}'), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { what: 'a build without a content type', path: '/v1/builds', type: undefined, body: multipartBody, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { what: 'JSON in latin1', path: '/v1/projects', type: 'application/json; charset=latin1', body: project(1), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { what: 'JSON in utf-16', path: '/v1/projects', type: 'application/json; charset=utf-16', body: project(2), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { what: 'JSON with two charsets', path: '/v1/projects', type: 'application/json; charset=utf-8; charset=utf-8', body: project(3), status: 400, code: 'BAD_REQUEST' },
      { what: 'JSON with garbage parameters', path: '/v1/projects', type: 'application/json;;=;x', body: project(4), status: 400, code: 'BAD_REQUEST' },
      { what: 'JSON without a content type', path: '/v1/projects', type: undefined, body: project(5), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { what: 'JSON as text/plain', path: '/v1/projects', type: 'text/plain', body: project(6), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { what: 'JSON as a +json type', path: '/v1/projects', type: 'application/merge-patch+json', body: project(7), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { what: 'JSON as */*', path: '/v1/projects', type: '*/*', body: project(8), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { what: 'an empty content type', path: '/v1/projects', type: '', body: project(9), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    ];
    for (const c of cases) {
      const headers: Record<string, string | number> = { authorization: auth, 'content-length': c.body.length };
      if (c.type !== undefined) headers['content-type'] = c.type;
      const result = await rawRequest({ port: controller.port, method: 'POST', path: c.path, headers, chunks: [c.body], then: 'wait' });
      assert.equal(result.status, c.status, `${c.what}: ${result.text.slice(0, 300)}`);
      assert.equal(result.code, c.code, `${c.what}: ${result.text.slice(0, 300)}`);
    }

    // The accepted spellings still work: a charset of UTF-8 in any case, a quoted boundary.
    for (const [n, type] of [[10, 'application/json; charset=UTF-8'], [11, 'Application/JSON;charset="utf-8"']] as const) {
      const result = await rawRequest({
        port: controller.port,
        method: 'POST',
        path: '/v1/projects',
        headers: { authorization: auth, 'content-type': type, 'content-length': project(n).length },
        chunks: [project(n)],
        then: 'wait',
      });
      assert.equal(result.status, 201, `${type}: ${result.text.slice(0, 300)}`);
    }

    assert.ok(controller.alive(), 'the controller is still up');
    assert.deepEqual(await blobState(controller.dataDir), before, 'no blob and no temp file was left behind');
    assert.deepEqual((await tenant.reader.listBuilds()).builds, [], 'no build was created');
    assert.deepEqual((await tenant.reader.listProjects()).projects.map((p) => p.name).sort(), ['ct-edge-10', 'ct-edge-11']);
  } finally {
    await controller.dispose();
  }
});
