/**
 * HTTP at the socket level, for what a well-behaved client never does: cut the
 * connection mid-body, stall, send a body larger than it declared limits allow.
 */
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';

export interface RawResult {
  /** The response status, if one arrived. */
  status: number | undefined;
  /** The response as text (head and body). */
  text: string;
  /** The error code from the JSON body, if any. */
  code: string | undefined;
  /** The server closed the connection (as opposed to us). */
  closedByServer: boolean;
  elapsedMs: number;
}

export interface RawRequest {
  port: number;
  method: string;
  path: string;
  headers: Record<string, string | number>;
  /** Written in order; `pauseMs` between chunks lets the server start reading. */
  chunks?: Buffer[];
  pauseMs?: number;
  /** What to do after the chunks: wait for the answer, cut the socket, or stall (send nothing more). */
  then: 'wait' | 'cut' | 'stall';
  /** Give up waiting after this long. */
  timeoutMs?: number;
}

function parse(raw: Buffer, closedByServer: boolean, elapsedMs: number): RawResult {
  const text = raw.toString('utf8');
  const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
  let code: string | undefined;
  const body = text.split('\r\n\r\n').slice(1).join('\r\n\r\n');
  const json = /\{"error":\{"code":"([A-Z_]+)"/.exec(body);
  if (json) code = json[1];
  return { status: m ? Number(m[1]) : undefined, text, code, closedByServer, elapsedMs };
}

export function rawRequest(r: RawRequest): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(r.port, '127.0.0.1');
    const received: Buffer[] = [];
    let closedByServer = false;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(parse(Buffer.concat(received), closedByServer, Date.now() - started));
    };
    const timer = setTimeout(finish, r.timeoutMs ?? 10_000);
    socket.on('data', (d) => {
      received.push(d);
      // One response is all we ask for: stop once its body is complete.
      const text = Buffer.concat(received).toString('utf8');
      const headEnd = text.indexOf('\r\n\r\n');
      if (headEnd >= 0) {
        const length = /\r\ncontent-length: (\d+)/i.exec(text.slice(0, headEnd));
        if (length && Buffer.byteLength(text.slice(headEnd + 4)) >= Number(length[1])) finish();
      }
    });
    socket.on('end', () => {
      closedByServer = true;
      finish();
    });
    socket.on('close', () => {
      if (!settled) closedByServer = true;
      finish();
    });
    socket.on('error', () => finish());
    socket.on('connect', async () => {
      try {
        const head = [`${r.method} ${r.path} HTTP/1.1`, 'host: 127.0.0.1', ...Object.entries(r.headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
        socket.write(head);
        for (const chunk of r.chunks ?? []) {
          if (r.pauseMs) await new Promise((res) => setTimeout(res, r.pauseMs));
          if (socket.destroyed) break;
          socket.write(chunk);
        }
        if (r.then === 'cut') {
          await new Promise((res) => setTimeout(res, 50));
          socket.destroy();
          finish();
        }
      } catch (err) {
        reject(err as Error);
      }
    });
  });
}

/** A multipart body like the client's, as separate pieces so a test can send, cut or stall between them. */
export function multipartPieces(parts: Array<{ name: string; json?: unknown; raw?: string; contentType?: string; file?: Buffer }>): {
  boundary: string;
  contentType: string;
  pieces: Buffer[];
  length: number;
} {
  const boundary = `test-${randomBytes(8).toString('hex')}`;
  const pieces: Buffer[] = [];
  for (const part of parts) {
    if (part.file) {
      pieces.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"; filename="source.tar.gz"\r\nContent-Type: application/gzip\r\n\r\n`));
      pieces.push(part.file);
      pieces.push(Buffer.from('\r\n'));
    } else {
      const value = part.raw ?? JSON.stringify(part.json);
      pieces.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"\r\nContent-Type: ${part.contentType ?? 'application/json'}\r\n\r\n${value}\r\n`));
    }
  }
  pieces.push(Buffer.from(`--${boundary}--\r\n`));
  return { boundary, contentType: `multipart/form-data; boundary=${boundary}`, pieces, length: pieces.reduce((n, p) => n + p.length, 0) };
}
