/**
 * Sending one request of the security suite at the socket level (no URL normalisation, any header,
 * any body) and learning, for each discovered route, which credential kind it takes and which body
 * media type it reads — from the controller's own answers, without reaching a handler.
 */
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { buildSpec, tinyTarGz } from '../../helpers/fixtures.js';
import { multipartPieces, rawRequest, type RawResult } from '../../helpers/raw-http.js';
import { fillPath, sample, type JsonSchema, type Operation } from './openapi.js';
import { alphaValueFor, ALPHA_PROJECT, type World } from './world.js';

export interface SendOptions {
  method: string;
  path: string;
  token?: string;
  headers?: Record<string, string | number>;
  body?: Buffer;
  contentType?: string;
}

export async function send(port: number, o: SendOptions): Promise<RawResult> {
  // One request per connection. Small ones ask the server to close after answering, so a chunked
  // answer ends too; a large body keeps the connection, or an early answer (413) could race the reset.
  const headers: Record<string, string | number> = { connection: (o.body?.length ?? 0) < 65536 ? 'close' : 'keep-alive', ...o.headers };
  if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
  if (o.body !== undefined) {
    if (o.contentType !== undefined) headers['content-type'] = o.contentType;
    if (headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) headers['content-length'] = o.body.length;
  }
  // Hand-made chunked bodies go over a raw socket; everything else through node:http, which reads an
  // answer that arrives before the body is sent (a 413, a GET that ignores its body) instead of losing it.
  if (headers['transfer-encoding'] !== undefined) {
    return rawRequest({ port, method: o.method, path: o.path, headers, chunks: o.body ? [o.body] : [], then: 'wait', timeoutMs: 8000 });
  }
  const started = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: Omit<RawResult, 'elapsedMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ ...r, elapsedMs: Date.now() - started });
    };
    const req = httpRequest({ host: '127.0.0.1', port, method: o.method, path: o.path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      const finish = () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const code = /\{"error":\{"code":"([A-Z_]+)"/.exec(text)?.[1];
        done({ status: res.statusCode, text, code, closedByServer: true });
      };
      res.on('end', finish);
      res.on('error', finish);
      res.on('close', finish);
    });
    const timer = setTimeout(() => done({ status: undefined, text: 'no answer within 8 s', code: undefined, closedByServer: false }), 8000);
    req.on('error', (err) => setTimeout(() => done({ status: undefined, text: String(err), code: undefined, closedByServer: true }), 200));
    if (o.body) req.end(o.body);
    else req.end();
  });
}

/** `^bld_[0-9a-z]{26}$` and the like: the id parameters (protocol common.ts Id()). */
const ID_PATTERN = /^\^[a-z]{3}_\[0-9a-z\]\{26\}\$$/;

export type MediaKind = 'json' | 'multipart' | 'stream' | 'none';

export interface Route {
  op: Operation;
  /** An alpha credential the route accepts (admin token, worker credential or enrollment token), or undefined. */
  credential: string | undefined;
  media: MediaKind;
  /** Path values naming alpha's resources. */
  pathValues: Record<string, string>;
  /**
   * Does the path name a resource by id? Then another org's credential must get 401/403/404. (A project
   * name is scoped to the caller's org: another org may have, or create, its own project of that name.)
   */
  targeted: boolean;
  /** Does the path name anything at all (an id, a project, a secret)? */
  named: boolean;
  /**
   * Does every path value name one of alpha's resources? False for a parameter the world cannot fill
   * (a new kind of id): the route is still attacked, with a well-formed value, but has no control read.
   */
  ownedPath: boolean;
}

/**
 * A text/plain body is refused (415, naming the media type the route takes) before any handler
 * runs, and only once the credential was accepted: so one probe per candidate credential tells
 * both, and changes nothing.
 */
export async function discover(world: World, operations: Operation[]): Promise<Route[]> {
  const candidates = [world.alpha.tokens.admin, world.alphaWorker.credential, world.enrollmentSecret];
  const routes: Route[] = [];
  for (const op of operations) {
    const pathValues: Record<string, string> = {};
    let ownedPath = true;
    for (const p of op.params.filter((p) => p.in === 'path')) {
      const owned = alphaValueFor(world, p);
      if (owned === undefined) ownedPath = false;
      pathValues[p.name] = owned ?? String(sample(p.schema, (s) => s));
    }
    const path = fillPath(op.path, pathValues);
    let credential: string | undefined;
    let media: MediaKind = op.body ? 'json' : 'none';
    for (const token of candidates) {
      const r = await send(world.controller.port, { method: op.method, path, token, body: Buffer.from('x'), contentType: 'text/plain' });
      if (r.status === 401) continue;
      credential = token;
      const m = /this route takes ([a-z/+-]+)/.exec(r.text);
      if (m?.[1] === 'multipart/form-data') media = 'multipart';
      else if (m?.[1] === 'application/octet-stream') media = 'stream';
      break;
    }
    const pathParams = op.params.filter((p) => p.in === 'path');
    const targeted = pathParams.some((p) => ID_PATTERN.test(p.schema.pattern ?? ''));
    routes.push({ op, credential, media, pathValues, targeted, named: pathParams.length > 0, ownedPath });
  }
  return routes;
}

/** A well-formed request for the route (valid body of its media type, valid query), with alpha's ids in the path. */
export async function validRequest(route: Route, resolve: (s: JsonSchema) => JsonSchema): Promise<Omit<SendOptions, 'token'>> {
  const query = route.op.params
    .filter((p) => p.in === 'query' && p.required)
    .map((p) => `${encodeURIComponent(p.name)}=${encodeURIComponent(String(sample(p.schema, resolve)))}`);
  const path = fillPath(route.op.path, route.pathValues) + (query.length ? `?${query.join('&')}` : '');
  if (route.media === 'json' && route.op.body) {
    return { method: route.op.method, path, body: Buffer.from(JSON.stringify(sample(route.op.body, resolve))), contentType: 'application/json' };
  }
  if (route.media === 'multipart') {
    const { contentType, pieces } = multipartPieces([{ name: 'spec', json: buildSpec({ project: ALPHA_PROJECT }) }, { name: 'source', file: await tinyTarGz('suite') }]);
    return { method: route.op.method, path, body: Buffer.concat(pieces), contentType };
  }
  if (route.media === 'stream') {
    const body = Buffer.from('suite artifact');
    return {
      method: route.op.method,
      path,
      body,
      contentType: 'application/octet-stream',
      headers: { 'x-buildmesh-sha256': createHash('sha256').update(body).digest('hex') },
    };
  }
  return { method: route.op.method, path };
}
