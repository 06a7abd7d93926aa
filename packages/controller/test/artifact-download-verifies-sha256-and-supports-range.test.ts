import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { SHA256_HEADER } from '@buildmesh/protocol';
import { startControllerProcess } from './helpers/controller-process.js';
import { keepLeased, leasedBuild } from './helpers/fixtures.js';
import { rejectsWith } from './helpers/expect.js';
import { blobState } from './helpers/data-dir.js';
import { bytesOf } from '../../../test/helpers/bytes.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('artifacts are verified against their declared sha256 and size, and download with sha256 headers and Range', async () => {
  const controller = await startControllerProcess({ env: { BUILDMESH_MAX_ARTIFACT_BYTES: '4MiB' } });
  try {
    const { tenant, worker, build, attemptId } = await leasedBuild(controller);
    const stopHeartbeats = keepLeased(worker, attemptId);
    const data = randomBytes(700_000);
    const before = await blobState(controller.dataDir);

    // A declared sha256 the bytes do not match: refused, nothing kept.
    await rejectsWith(
      worker.client.uploadArtifact(attemptId, { name: 'app.apk', kind: 'application-archive', size: data.length, sha256: sha(Buffer.from('other')), stream: Readable.from([data]) }),
      'CHECKSUM_MISMATCH',
    );
    // Larger than the limit, declared up front: refused before a byte is read.
    const big = Buffer.alloc(5 * 1024 * 1024, 1);
    await rejectsWith(
      worker.client.uploadArtifact(attemptId, { name: 'big.bin', kind: 'other', size: big.length, sha256: sha(big), stream: Readable.from([big]) }),
      'PAYLOAD_TOO_LARGE',
    );
    // No sha256 header at all.
    const noSha = await fetch(`${controller.url}/v1/attempts/${attemptId}/artifacts/x.bin`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${worker.credential}`, 'content-type': 'application/octet-stream' },
      body: data,
    });
    assert.equal(noSha.status, 400);
    const after = await blobState(controller.dataDir);
    assert.deepEqual(after, before, 'refused uploads leave no blob and no temp file');

    const artifact = await worker.client.uploadArtifact(attemptId, {
      name: 'app-release.apk',
      kind: 'application-archive',
      size: data.length,
      sha256: sha(data),
      stream: Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]),
    });
    assert.equal(artifact.size, data.length);
    assert.equal(artifact.sha256, sha(data));
    assert.equal(artifact.kind, 'application-archive');
    // The same name again with the same bytes is the same artifact (a retried upload).
    const again = await worker.client.uploadArtifact(attemptId, { name: 'app-release.apk', kind: 'application-archive', size: data.length, sha256: sha(data), stream: Readable.from([data]) });
    assert.equal(again.id, artifact.id);
    await worker.client.finish(attemptId, { outcome: 'succeeded' });
    stopHeartbeats();

    const list = await tenant.reader.listArtifacts(build.id);
    assert.deepEqual(list.artifacts.map((a) => [a.id, a.name, a.size, a.sha256]), [[artifact.id, 'app-release.apk', data.length, sha(data)]]);

    const full = await tenant.reader.downloadArtifact(build.id, artifact.id);
    assert.equal(full.status, 200);
    assert.equal(full.header('content-length'), String(data.length));
    assert.equal(full.header('content-type'), 'application/octet-stream');
    assert.equal(full.header(SHA256_HEADER), sha(data));
    assert.equal(full.header('etag'), `"${sha(data)}"`);
    assert.equal(full.header('accept-ranges'), 'bytes');
    assert.match(full.header('content-disposition') ?? '', /^attachment; filename="app-release\.apk"/);
    assert.ok((await bytesOf(full)).equals(data));

    const ranges: Array<[string, number, number]> = [
      ['bytes=0-99', 0, 99],
      ['bytes=1000-1999', 1000, 1999],
      ['bytes=699990-', 699_990, data.length - 1],
      ['bytes=-10', data.length - 10, data.length - 1],
      ['bytes=699999-900000', 699_999, data.length - 1],
    ];
    for (const [range, start, end] of ranges) {
      const part = await tenant.reader.downloadArtifact(build.id, artifact.id, { range });
      assert.equal(part.status, 206, range);
      assert.equal(part.header('content-range'), `bytes ${start}-${end}/${data.length}`, range);
      assert.equal(part.header('content-length'), String(end - start + 1), range);
      assert.equal(part.header(SHA256_HEADER), sha(data), 'the header names the whole file');
      assert.ok((await bytesOf(part)).equals(data.subarray(start, end + 1)), range);
    }

    for (const range of ['bytes=700000-', 'bytes=800000-800010', 'bytes=-0']) {
      await assert.rejects(tenant.reader.downloadArtifact(build.id, artifact.id, { range }), (err: { code?: string }) => err.code === 'RANGE_NOT_SATISFIABLE');
      const raw = await fetch(`${controller.url}/v1/builds/${build.id}/artifacts/${artifact.id}`, {
        headers: { authorization: `Bearer ${tenant.tokens.reader}`, range },
      });
      assert.equal(raw.status, 416, range);
      assert.equal(raw.headers.get('content-range'), `bytes */${data.length}`);
    }
    // Several ranges or another unit: ignored, the whole file comes back.
    for (const range of ['bytes=0-1,5-6', 'items=0-1', 'bytes=5-1']) {
      const whole = await tenant.reader.downloadArtifact(build.id, artifact.id, { range });
      assert.equal(whole.status, 200, range);
      assert.equal((await bytesOf(whole)).length, data.length);
    }
    // A cached copy is still good.
    const cached = await fetch(`${controller.url}/v1/builds/${build.id}/artifacts/${artifact.id}`, {
      headers: { authorization: `Bearer ${tenant.tokens.reader}`, 'if-none-match': `"${sha(data)}"` },
    });
    assert.equal(cached.status, 304);
    // If-Range with a stale validator: the whole (changed) file instead of a piece.
    const stale = await fetch(`${controller.url}/v1/builds/${build.id}/artifacts/${artifact.id}`, {
      headers: { authorization: `Bearer ${tenant.tokens.reader}`, range: 'bytes=0-9', 'if-range': '"stale"' },
    });
    assert.equal(stale.status, 200);
    await stale.arrayBuffer();
  } finally {
    await controller.dispose();
  }
});
