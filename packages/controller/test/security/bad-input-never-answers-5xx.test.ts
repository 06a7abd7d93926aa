/**
 * Bad-input fuzzing of every route the OpenAPI document lists, with a credential the route accepts
 * (so the input reaches validation and the handler): every path and query parameter replaced by
 * traversal, NUL, unicode, huge and out-of-range values; JSON bodies malformed, deep, huge, in the
 * wrong content type, and each field in turn replaced by a wrong type, NUL, unicode, an out-of-range
 * number or removed; multipart and streamed bodies cut, reordered or mislabelled; Range headers
 * abused. No answer may be ≥ 500, the process stays up, and a refused request writes nothing
 * (a snapshot of every table and of the blob files before and after each one).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { buildSpec, tinyTarGz } from '../helpers/fixtures.js';
import { multipartPieces } from '../helpers/raw-http.js';
import { fillPath, leaves, loadOperations, REMOVE, sample, withLeaf, type Param } from './helpers/openapi.js';
import { discover, send, validRequest, type Route, type SendOptions } from './helpers/requests.js';
import { ALPHA_PROJECT, buildWorld, snapshot } from './helpers/world.js';

/** Path values: `raw` ones go into the URL as they are (pre-encoded tricks), the rest are URL-encoded. */
const PATH_VALUES: Array<{ value: string; raw?: boolean }> = [
  { value: '..' },
  { value: '../../etc/passwd' },
  { value: '..%2F..%2Fetc%2Fpasswd', raw: true },
  { value: '%2e%2e', raw: true },
  { value: '%00', raw: true },
  { value: 'a%00b', raw: true },
  { value: '%', raw: true },
  { value: '%zz', raw: true },
  { value: '\u0000' },
  { value: ' ' },
  { value: 'x'.repeat(5000) },
  { value: '😀\u202e' },
  { value: 'null' },
  { value: '-1' },
  { value: '1e309' },
  { value: `bld_${'A'.repeat(26)}` },
  { value: `att_${'0'.repeat(27)}` },
  { value: '__proto__' },
  { value: 'constructor' },
  { value: "' OR 1=1 --" },
  { value: '${jndi:ldap://x}' },
];
/** Query values: never a valid `true` (follow=true would stream forever) nor a plausible id. */
const QUERY_VALUES: Array<{ value: string; raw?: boolean }> = [
  { value: '-1' },
  { value: '0' },
  { value: '1.5' },
  { value: '1e309' },
  { value: '99999999999999999999999' },
  { value: 'NaN' },
  { value: '' },
  { value: '%00', raw: true },
  { value: 'x'.repeat(5000) },
  { value: '😀' },
  { value: '[]' },
  { value: '{}' },
  { value: '../../etc/passwd' },
];
const MALFORMED_JSON: Buffer[] = [
  '{',
  '{"a":',
  '{"a":1,}',
  "{'a':1}",
  'nul',
  '\u0000',
  '   ',
  '{"a":"\u0000"}',
  '{"__proto__":{"polluted":1}}',
  '{"constructor":{"prototype":{"polluted":1}}}',
  '[' + '{"a":'.repeat(10) + '}',
].map((s) => Buffer.from(s)).concat([Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), Buffer.alloc(0)]);
const DEEP_JSON: Buffer[] = [Buffer.from('['.repeat(20000) + ']'.repeat(20000)), Buffer.from('{"a":'.repeat(20000) + '1' + '}'.repeat(20000))];
const LEAF_VALUES: unknown[] = [null, -1, 2 ** 53 + 1, 1e308, '', '\u0000', 'x'.repeat(70000), '😀\u202e', {}, [], '../../etc/passwd', true, REMOVE];
const WRONG_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', 'application/xml'];
const RANGES = ['bytes=0-0,1-1', 'bytes=-0', 'bytes=99999999999999999999-', 'bytes=5-1', 'items=0-1', 'bytes=', 'bytes=--1', `bytes=0-1${',0-1'.repeat(2000)}`, 'bytes=1-2-3', 'bytes=-99999999999999999999'];

/** Destructive routes go last (deletions, then the attempt's end, then the build's): they end what the others work on. */
const rank = (r: Route) => (r.op.method === 'DELETE' ? 1 : 0) + (/\/finish$/.test(r.op.path) ? 2 : 0) + (/\/(cancel|retry|rotate)$/.test(r.op.path) ? 3 : 0);

function pathWith(route: Route, name: string, v: { value: string; raw?: boolean }): string {
  return fillPath(route.op.path, { ...route.pathValues, [name]: v.value }, v.raw ? new Set([name]) : new Set());
}

async function multipartCases(): Promise<Array<{ what: string; body: Buffer; contentType: string }>> {
  const spec = buildSpec({ project: ALPHA_PROJECT });
  const source = await tinyTarGz('fuzz');
  const mp = (parts: Parameters<typeof multipartPieces>[0]) => {
    const { contentType, pieces } = multipartPieces(parts);
    return { contentType, body: Buffer.concat(pieces) };
  };
  const valid = mp([{ name: 'spec', json: spec }, { name: 'source', file: source }]);
  const boundary = /boundary=(\S+)/.exec(valid.contentType)![1]!;
  const cases = [
    { what: 'no parts', ...mp([]) },
    { what: 'only a spec', ...mp([{ name: 'spec', json: spec }]) },
    { what: 'only a source', ...mp([{ name: 'source', file: source }]) },
    { what: 'source before spec', ...mp([{ name: 'source', file: source }, { name: 'spec', json: spec }]) },
    { what: 'spec twice', ...mp([{ name: 'spec', json: spec }, { name: 'spec', json: spec }, { name: 'source', file: source }]) },
    { what: 'spec not JSON', ...mp([{ name: 'spec', raw: '{nope' }, { name: 'source', file: source }]) },
    { what: 'spec wrong shape', ...mp([{ name: 'spec', json: { project: 1 } }, { name: 'source', file: source }]) },
    { what: 'spec with LD_PRELOAD', ...mp([{ name: 'spec', json: { ...spec, env: { LD_PRELOAD: 'x' } } }, { name: 'source', file: source }]) },
    { what: 'spec with NUL', ...mp([{ name: 'spec', json: { ...spec, message: 'a\u0000b' } }, { name: 'source', file: source }]) },
    { what: 'spec 2 MB', ...mp([{ name: 'spec', raw: JSON.stringify({ ...spec, message: 'x'.repeat(2 * 1024 * 1024) }) }, { name: 'source', file: source }]) },
    { what: 'spec deep', ...mp([{ name: 'spec', raw: '['.repeat(20000) + ']'.repeat(20000) }, { name: 'source', file: source }]) },
    { what: 'credentials not JSON', ...mp([{ name: 'spec', json: spec }, { name: 'credentials', raw: '[' }, { name: 'source', file: source }]) },
    { what: 'credentials wrong shape', ...mp([{ name: 'spec', json: spec }, { name: 'credentials', json: { android: 1 } }, { name: 'source', file: source }]) },
    { what: 'unknown part', ...mp([{ name: 'spec', json: spec }, { name: 'evil', raw: 'x' }, { name: 'source', file: source }]) },
    { what: '1000 unknown parts', ...mp([{ name: 'spec', json: spec }, ...Array.from({ length: 1000 }, () => ({ name: 'x', raw: '' })), { name: 'source', file: source }]) },
    { what: 'source not gzip', ...mp([{ name: 'spec', json: spec }, { name: 'source', file: randomBytes(2000) }]) },
    { what: 'empty source', ...mp([{ name: 'spec', json: spec }, { name: 'source', file: Buffer.alloc(0) }]) },
    { what: 'spec as text/plain', ...mp([{ name: 'spec', json: spec, contentType: 'text/plain' }, { name: 'source', file: source }]) },
    { what: 'no closing boundary', contentType: valid.contentType, body: valid.body.subarray(0, valid.body.length - boundary.length - 6) },
    { what: 'LF line endings', contentType: valid.contentType, body: Buffer.from(valid.body.toString('latin1').replaceAll('\r\n', '\n'), 'latin1') },
    { what: 'wrong boundary', contentType: 'multipart/form-data; boundary=other', body: valid.body },
    { what: 'part without a name', contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.from(`--${boundary}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--${boundary}--\r\n`) },
    { what: 'a 100 kB header', contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="spec"\r\nX-Junk: ${'j'.repeat(100_000)}\r\n\r\n{}\r\n--${boundary}--\r\n`) },
    { what: 'NUL in a part header', contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="sp\u0000ec"\r\n\r\n{}\r\n--${boundary}--\r\n`) },
    { what: 'traversal filename', contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="spec"\r\n\r\n${JSON.stringify(spec)}\r\n--${boundary}\r\nContent-Disposition: form-data; name="source"; filename="../../../etc/passwd"\r\nContent-Type: application/gzip\r\n\r\n`), },
  ];
  return cases;
}

test('bad input to every route and parameter never answers 5xx and writes nothing', { timeout: 240_000 }, async () => {
  const world = await buildWorld({ BUILDMESH_MAX_SOURCE_BYTES: '1048576', BUILDMESH_MAX_ARTIFACT_BYTES: '1048576', BUILDMESH_BODY_IDLE_TIMEOUT_MS: '3000' });
  const { controller } = world;
  try {
    const { operations, resolve } = await loadOperations(controller.url);
    const routes = (await discover(world, operations)).sort((a, b) => rank(a) - rank(b));
    const failures: string[] = [];
    const counts = { path: 0, query: 0, body: 0, multipart: 0, stream: 0, range: 0 };
    let baseline = await snapshot(controller);

    const attempt = async (kind: keyof typeof counts, route: Route, what: string, request: SendOptions) => {
      counts[kind]++;
      const r = await send(controller.port, { token: route.credential, ...request });
      const label = `${route.op.method} ${route.op.path} [${kind}: ${what.slice(0, 80)}] → ${r.status}`;
      if (r.status === undefined || r.status >= 500) failures.push(`${label}: ${r.text.slice(0, 200)}`);
      const now = await snapshot(controller);
      if (r.status !== undefined && r.status >= 400 && now !== baseline) failures.push(`${label}: a refused request wrote to the store or the blobs`);
      baseline = now; // a valid request may write; each case is judged against the state just before it
    };

    for (const route of routes) {
      const valid = await validRequest(route, resolve);
      const query = valid.path.includes('?') ? valid.path.slice(valid.path.indexOf('?')) : '';

      // Every path parameter in turn.
      for (const p of route.op.params.filter((p) => p.in === 'path')) {
        for (const v of PATH_VALUES) await attempt('path', route, `${p.name}=${JSON.stringify(v.value).slice(0, 40)}`, { ...valid, path: pathWith(route, p.name, v) + query });
      }
      // Every query parameter in turn, and each one repeated.
      const base = fillPath(route.op.path, route.pathValues);
      for (const p of route.op.params.filter((p: Param) => p.in === 'query')) {
        for (const v of QUERY_VALUES) {
          await attempt('query', route, `${p.name}=${JSON.stringify(v.value).slice(0, 40)}`, { ...valid, path: `${base}?${p.name}=${v.raw ? v.value : encodeURIComponent(v.value)}` });
        }
        await attempt('query', route, `${p.name} twice`, { ...valid, path: `${base}?${p.name}=1&${p.name}=2` });
      }

      // Bodies. Routes without one still parse a JSON body they ignore: only invalid ones are sent there.
      const bodies: Array<[string, Buffer, string | undefined, Record<string, string | number>?]> = [];
      for (const b of [...MALFORMED_JSON, ...DEEP_JSON]) bodies.push([`json ${JSON.stringify(b.toString('latin1').slice(0, 30))}`, b, 'application/json']);
      bodies.push(['3 MB of JSON', Buffer.from(JSON.stringify({ a: 'x'.repeat(3 * 1024 * 1024) })), 'application/json']);
      bodies.push(['Content-Length 1 TB', Buffer.from('{}'), 'application/json', { 'content-length': 1024 ** 4 }]);
      bodies.push(['Content-Length not a number', Buffer.from('{}'), 'application/json', { 'content-length': '12abc' }]);
      if (route.media === 'json' && route.op.body) {
        const good = sample(route.op.body, resolve);
        for (const type of [...WRONG_TYPES, undefined]) bodies.push([`sample as ${type ?? 'no content type'}`, Buffer.from(JSON.stringify(good)), type]);
        bodies.push(['sample plus an extra property', Buffer.from(JSON.stringify({ ...(good as object), extraProperty: 1 })), 'application/json']);
        for (const leaf of leaves(good)) {
          for (const value of LEAF_VALUES) {
            const mutated = withLeaf(good, leaf, value);
            const label = `${leaf.join('.') || '(root)'}=${value === REMOVE ? 'removed' : JSON.stringify(value)?.slice(0, 20)}`;
            bodies.push([label, Buffer.from(JSON.stringify(mutated ?? null)), 'application/json']);
          }
        }
      }
      for (const [what, body, contentType, headers] of bodies) await attempt('body', route, what, { method: valid.method, path: valid.path, body, contentType, headers });

      if (route.media === 'multipart') {
        for (const c of await multipartCases()) await attempt('multipart', route, c.what, { method: valid.method, path: valid.path, body: c.body, contentType: c.contentType });
      }
      if (route.media === 'stream') {
        const bytes = Buffer.from('fuzz artifact');
        const sha = createHash('sha256').update(bytes).digest('hex');
        const cases: Array<[string, Record<string, string | number>, Buffer]> = [
          ['no sha256 header', {}, bytes],
          ['sha256 not hex', { 'x-buildmesh-sha256': 'z'.repeat(64) }, bytes],
          ['sha256 of other bytes', { 'x-buildmesh-sha256': '0'.repeat(64) }, bytes],
          ['declared longer than sent', { 'x-buildmesh-sha256': sha, 'content-length': bytes.length + 100 }, bytes],
          ['chunked', { 'x-buildmesh-sha256': sha, 'transfer-encoding': 'chunked' }, Buffer.from(`${bytes.length.toString(16)}\r\n${bytes.toString()}\r\n0\r\n\r\n`)],
          ['chunked with bad sizes', { 'x-buildmesh-sha256': sha, 'transfer-encoding': 'chunked' }, Buffer.from('zz\r\nabc\r\n0\r\n\r\n')],
          ['empty', { 'x-buildmesh-sha256': createHash('sha256').update('').digest('hex') }, Buffer.alloc(0)],
          ['over the artifact limit', { 'x-buildmesh-sha256': sha, 'content-length': 2 * 1024 * 1024 }, bytes],
        ];
        for (const [what, headers, body] of cases) await attempt('stream', route, what, { ...valid, headers, body });
      }
      if (route.op.method === 'GET') {
        for (const range of RANGES) await attempt('range', route, range.slice(0, 40), { ...valid, headers: { ...valid.headers, range } });
      }
    }

    assert.ok(controller.alive(), 'the controller is still up');
    const errors = controller.output().split('\n').filter((line) => /"level":(50|60)/.test(line));
    assert.deepEqual(failures, [], failures.slice(0, 40).join('\n'));
    assert.deepEqual(errors.slice(0, 5), [], 'the controller logged no error');
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    console.log(`security fuzz: ${routes.length} routes, ${total} bad-input cases (${Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(', ')}); 0 answers ≥ 500, every one answered`);
  } finally {
    await controller.dispose();
  }
});
