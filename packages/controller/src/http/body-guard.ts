/**
 * Request bodies, before and after the handler:
 * - before reading: the content type must be the route's (well-formed parameters, JSON in UTF-8,
 *   multipart with a boundary), and a declared
 *   Content-Length over the route's limit is refused (413) without reading a byte;
 * - while reading: a body that sends nothing for bodyIdleTimeoutMs is cut off
 *   (408, connection closed);
 * - after answering early (4xx before the whole body arrived): the rest is read
 *   and discarded for a short while so the client sees the answer rather than a
 *   reset, then the connection is closed.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '@buildmesh/protocol';
import { sendError } from './errors.js';
import type { BodyKind } from './route-config.js';

const LINGER_MS = 5000;

const MEDIA_TYPES = {
  json: 'application/json',
  multipart: 'multipart/form-data',
  stream: 'application/octet-stream',
} as const;

export interface BodyGuardOptions {
  bodyIdleTimeoutMs: number;
  /** The socket timeout outside body reads (above the longest long-poll). */
  connectionTimeoutMs: number;
}

export function hasBody(request: FastifyRequest): boolean {
  const h = request.headers;
  if (h['transfer-encoding'] !== undefined) return true;
  const length = h['content-length'];
  return length !== undefined && length !== '0';
}

const PARAM = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)=("(?:[^"\\]|\\.)*"|[^\s";]+)$/;

/**
 * `type/subtype; name=value; …` → the lower-cased media type and its parameters. Malformed or
 * repeated parameters are a 400: two parsers reading one header differently is how smuggling starts.
 */
export function parseContentType(header: string): { type: string; params: Map<string, string> } {
  const [head, ...rest] = header.split(';');
  const params = new Map<string, string>();
  for (const raw of rest) {
    const part = raw.trim();
    if (part === '') continue;
    const m = PARAM.exec(part);
    if (!m) throw new ApiError('BAD_REQUEST', `Content-Type has a malformed parameter: ${JSON.stringify(part.slice(0, 80))}`);
    const name = m[1]!.toLowerCase();
    if (params.has(name)) throw new ApiError('BAD_REQUEST', `Content-Type repeats the parameter ${name}`);
    const value = m[2]!;
    params.set(name, value.startsWith('"') ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value);
  }
  return { type: head!.trim().toLowerCase(), params };
}

/** What the body's parameters must say: JSON is UTF-8; multipart needs its boundary (RFC 2046: 1–70 characters). */
function checkParams(kind: keyof typeof MEDIA_TYPES, params: Map<string, string>): void {
  const charset = params.get('charset')?.toLowerCase();
  if (kind === 'json' && charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `JSON bodies are UTF-8, not ${charset.slice(0, 40)}`);
  }
  if (kind === 'multipart') {
    const boundary = params.get('boundary');
    if (boundary === undefined || boundary.length < 1 || boundary.length > 70 || / $/.test(boundary)) {
      throw new ApiError('BAD_REQUEST', 'multipart/form-data needs a boundary parameter of 1 to 70 characters');
    }
  }
}

/** Throws the 4xx a body earns before any of it is read; arms the idle timeout for the read. */
export function guardBody(request: FastifyRequest, reply: FastifyReply, options: BodyGuardOptions): void {
  if (!hasBody(request)) return;
  const config = request.routeOptions.config;
  // Routes without a body tolerate an (ignored) JSON one: `POST …/cancel` with `{}` is harmless.
  const kinds: readonly BodyKind[] = config.body === undefined ? ['json'] : typeof config.body === 'string' ? [config.body] : config.body;
  const { type, params } = parseContentType(request.headers['content-type'] ?? '');
  const kind = kinds.find((k) => MEDIA_TYPES[k] === type);
  if (!kind) {
    const expected = kinds.map((k) => MEDIA_TYPES[k]).join(' or ');
    throw new ApiError('UNSUPPORTED_MEDIA_TYPE', type ? `this route takes ${expected}, not ${type.slice(0, 80)}` : `this route takes ${expected}`);
  }
  checkParams(kind, params);
  const limit = kind === 'multipart' || kind === 'stream' ? config.maxBodyBytes : request.routeOptions.bodyLimit;
  const declared = request.headers['content-length'];
  if (declared !== undefined) {
    if (!/^\d{1,16}$/.test(declared)) throw new ApiError('BAD_REQUEST', 'Content-Length is not a number');
    if (limit !== undefined && Number(declared) > limit) {
      throw new ApiError('PAYLOAD_TOO_LARGE', `this route accepts at most ${limit} bytes`);
    }
  }
  armIdleTimeout(request, reply, options);
}

function armIdleTimeout(request: FastifyRequest, reply: FastifyReply, options: BodyGuardOptions): void {
  const req = request.raw;
  const socket = req.socket;
  socket.setTimeout(options.bodyIdleTimeoutMs);
  // Node emits 'timeout' on the request only while its body is incomplete.
  const onIdle = (): void => {
    const error = new ApiError('BODY_TIMEOUT', `no bytes arrived for ${options.bodyIdleTimeoutMs} ms`);
    if (reply.raw.headersSent) {
      socket.destroy();
    } else if (req.listenerCount('error') > 0) {
      // Someone is reading the body: fail their read; the error handler answers 408 and closes.
      req.emit('error', error);
    } else {
      sendError(error, request, reply);
    }
    // Whatever happens above, the connection does not outlive the grace period.
    setTimeout(() => socket.destroy(), 1000).unref();
  };
  const restore = (): void => {
    req.off('timeout', onIdle);
    if (!socket.destroyed) socket.setTimeout(options.connectionTimeoutMs);
  };
  req.on('timeout', onIdle);
  req.once('end', restore);
  req.once('close', restore);
}

/** onResponse: an answer sent before the body was complete. */
export function lingerIfBodyUnread(request: FastifyRequest): void {
  const req = request.raw;
  if (req.complete || req.destroyed) return;
  req.resume();
  const timer = setTimeout(() => {
    if (!req.complete) req.socket.destroy();
  }, LINGER_MS);
  timer.unref();
  req.once('end', () => clearTimeout(timer));
}
