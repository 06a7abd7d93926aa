/**
 * A webhook receiver on loopback for tests: records every request (headers, raw
 * body, arrival time) and answers with the status `respond` picks (default 200).
 * stop() closes it; listen() again on the same port brings it back (a receiver that was down).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface WebhookReceiver {
  url: string;
  port: number;
  received: ReceivedWebhook[];
  /** Status for the n-th request (0-based); default 200. */
  respond: (n: number) => number;
  listen(): Promise<void>;
  stop(): Promise<void>;
}

export async function startWebhookReceiver(options: { port?: number; listening?: boolean } = {}): Promise<WebhookReceiver> {
  let server: Server | undefined;
  const receiver: WebhookReceiver = {
    url: '',
    port: options.port ?? 0,
    received: [],
    respond: () => 200,
    async listen() {
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const n = receiver.received.length;
          receiver.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
          res.writeHead(receiver.respond(n)).end('ok');
        });
      });
      await new Promise<void>((resolve) => server!.listen(receiver.port, '127.0.0.1', resolve));
      receiver.port = (server.address() as AddressInfo).port;
      receiver.url = `http://127.0.0.1:${receiver.port}/hook`;
    },
    async stop() {
      if (!server) return;
      const s = server;
      server = undefined;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
  await receiver.listen();
  if (options.listening === false) await receiver.stop();
  return receiver;
}
