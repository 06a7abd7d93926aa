/**
 * The Node JSON transport: undici's `request`, loaded on the first call. For the small JSON calls
 * that make up the API (submits, claims, heartbeats, log batches) it costs a third of `fetch`'s
 * time on the client (fetch builds WHATWG Headers, Request and Response streams for each call);
 * a streamed upload (a source, an artifact, a presigned PUT) costs the client less than half of
 * fetch's CPU (no WHATWG stream between the file and the socket), and so does a streamed download.
 * The package's Node entry installs it; browsers keep fetch. See docs/performance.md.
 */
import type { Readable } from 'node:stream';
import type { request as Request } from 'undici';
import { readBoundedText, type JsonTransport, type StreamTransport } from './client.js';
import { RedirectRefused } from './retry.js';

let loading: Promise<typeof Request> | undefined;
// (Bundled, as in the CLI, the CommonJS package arrives as a default export only.)
const undiciRequest = () => (loading ??= import('undici').then((m) => m.request ?? (m as unknown as { default: typeof m }).default.request));

/** Redirects a download follows (a presigned GET is one), and the statuses that are one (as fetch). */
const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** The only headers sent on to an origin other than the controller's (a presigned URL carries its own authority). */
const CROSS_ORIGIN_HEADERS = ['range', 'user-agent', 'accept'];

export const undiciJsonTransport: JsonTransport = {
  async send({ method, url, headers, body, signal }) {
    const request = await undiciRequest();
    // The caller's signal carries every deadline (long polls, a large upload's verification): undici's own
    // 300 s header and body timeouts are turned off.
    // undici sends any (async) iterable as the body, as it is read; its types name only Readable.
    const sent = body as string | Readable | undefined;
    const response = await request(url, { method: method as 'GET', headers, body: sent, signal, headersTimeout: 0, bodyTimeout: 0 });
    return { status: response.statusCode, text: await readBoundedText(response.body) };
  },
};

/**
 * Downloads: the body is undici's Node stream, with no WHATWG stream between the socket and the caller.
 * A redirect is followed by hand (undici's request does not), as fetch follows one: once a hop has left
 * the controller's origin only the range, user agent and accept headers go on (not the token, nor any
 * header the client was configured with), for good (a store cannot bounce the client back to a
 * controller path of its choosing with the token). undici's idle timeouts stay on (300 s for the headers
 * and between chunks, as fetch had them): the CLI's downloads carry no deadline of their own.
 */
export const undiciStreamTransport: StreamTransport = {
  async get({ url, headers, signal }) {
    const request = await undiciRequest();
    let target = new URL(url);
    const origin = target.origin;
    let sent = headers;
    for (let hop = 0; ; hop++) {
      if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new RedirectRefused(`a redirect to ${target.protocol} is not followed`);
      if (target.origin !== origin) sent = Object.fromEntries(Object.entries(sent).filter(([k]) => CROSS_ORIGIN_HEADERS.includes(k.toLowerCase())));
      const response = await request(target, { method: 'GET', headers: sent, signal });
      const location = response.headers.location;
      if (REDIRECTS.has(response.statusCode) && typeof location === 'string') {
        await response.body.dump();
        if (hop === MAX_REDIRECTS) throw new RedirectRefused(`more than ${MAX_REDIRECTS} redirects`);
        try {
          target = new URL(location, target);
        } catch {
          throw new RedirectRefused('a redirect to an invalid URL is not followed');
        }
        continue;
      }
      const body = response.body;
      return {
        status: response.statusCode,
        header: (name) => {
          const value = response.headers[name.toLowerCase()];
          return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
        },
        body,
        cancel: async () => {
          body.destroy();
        },
      };
    }
  },
};
