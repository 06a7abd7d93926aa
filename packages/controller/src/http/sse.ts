/**
 * Server-Sent Events on a hijacked reply: framing, backpressure (a slow reader
 * pauses the writer instead of growing memory), keep-alive comments, and one
 * close path whatever ends the stream.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '@buildmesh/protocol';

export const KEEP_ALIVE_MS = 15_000;

/**
 * Live streams per org on this controller: each holds a socket and a store poller, so one member
 * opening thousands must not tie up the controller for everyone. Connection state, not data: a
 * count per process is what it limits.
 */
export class StreamQuota {
  private readonly open = new Map<string, number>();

  constructor(private readonly perOrg: number) {}

  /** Opens the stream if the org is under its quota (else 429 TOO_MANY_STREAMS); the count drops when it closes. */
  openFor(orgId: string, request: FastifyRequest, reply: FastifyReply): SseStream {
    const count = this.open.get(orgId) ?? 0;
    if (count >= this.perOrg) throw new ApiError('TOO_MANY_STREAMS');
    const stream = new SseStream(request, reply);
    this.open.set(orgId, count + 1);
    stream.onClose(() => {
      const left = (this.open.get(orgId) ?? 1) - 1;
      if (left > 0) this.open.set(orgId, left);
      else this.open.delete(orgId);
    });
    return stream;
  }
}

export class SseStream {
  private ended = false;
  private readonly closeListeners = new Set<() => void>();
  private readonly keepAlive: NodeJS.Timeout;

  constructor(request: FastifyRequest, private readonly reply: FastifyReply, keepAliveMs = KEEP_ALIVE_MS) {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Reverse proxies (nginx) must pass events through as they come.
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    request.raw.socket.setNoDelay(true);
    this.keepAlive = setInterval(() => this.comment('keep-alive'), keepAliveMs);
    res.once('close', () => this.close());
    // A client that hung up before the stream opened (during authentication or a store read) has
    // already had its 'close': without this the stream, its poller and its quota place live forever.
    if (res.destroyed || request.raw.socket.destroyed) this.close();
  }

  get closed(): boolean {
    return this.ended;
  }

  onClose(listener: () => void): void {
    if (this.ended) listener();
    else this.closeListeners.add(listener);
  }

  /** Resolves once the event is handed to the socket (after a drain if the reader is slow). */
  async send(event: string, data: unknown, id?: string): Promise<void> {
    let frame = `event: ${event}\n`;
    if (id !== undefined) frame += `id: ${id}\n`;
    // JSON never contains a raw newline, so one data line carries it.
    frame += `data: ${JSON.stringify(data)}\n\n`;
    await this.write(frame);
  }

  /** Like send, with `json` already serialised (one line of JSON text). */
  async sendJson(event: string, json: string, id?: string): Promise<void> {
    await this.write(`event: ${event}\n${id !== undefined ? `id: ${id}\n` : ''}data: ${json}\n\n`);
  }

  comment(text: string): void {
    void this.write(`: ${text}\n\n`);
  }

  private write(frame: string): Promise<void> {
    if (this.ended) return Promise.resolve();
    const res = this.reply.raw;
    if (res.destroyed) {
      this.close();
      return Promise.resolve();
    }
    if (res.write(frame)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.once('drain', done);
      res.once('close', done);
    });
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.keepAlive);
    const res = this.reply.raw;
    if (!res.writableEnded) res.end();
    for (const listener of this.closeListeners) listener();
    this.closeListeners.clear();
  }
}
