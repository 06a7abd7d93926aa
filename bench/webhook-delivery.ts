/**
 * webhook_delivery_p50_ms / _p99_ms: a build's state change committed → the loopback receiver has the
 * signed request. Measured from the event's `createdAt` (stamped inside the committing transaction, so
 * a little before the commit: the figure errs high) to the request's arrival, on one host clock.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startController } from './support/processes.js';
import { percentile } from './support/measure.js';
import { benchSpec, streamOf, tinySource } from './support/sources.js';

export async function benchWebhookDelivery(rounds = 200): Promise<Record<string, number>> {
  const arrivals: number[] = [];
  let waiter: (() => void) | undefined;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      const payload = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { createdAt: string };
      arrivals.push(at - Date.parse(payload.createdAt));
      res.writeHead(204).end();
      waiter?.();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const controller = await startController({ BUILDMESH_WEBHOOK_ALLOW_PRIVATE: '1' });
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    await controller.admin.createWebhook({ url, events: ['build.queued'] });
    const source = await tinySource();
    for (let i = 0; i < rounds + 10; i++) {
      const arrived = new Promise<void>((resolve) => (waiter = resolve));
      await controller.admin.createBuild(benchSpec({ message: `w${i}` }), streamOf(source));
      await Promise.race([arrived, new Promise((_, reject) => setTimeout(() => reject(new Error('no delivery within 10 s')), 10_000))]);
    }
    const samples = arrivals.slice(10); // the first rounds warm up
    return { webhook_delivery_p50_ms: percentile(samples, 50), webhook_delivery_p99_ms: percentile(samples, 99) };
  } finally {
    await controller.stop();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
