/**
 * `buildmesh webhooks add|list|rm|deliveries|redeliver|test` (admin token): the org's signed
 * webhooks. The signing secret is printed once, by `add`.
 */
import { WEBHOOK_EVENTS, type WebhookEventName } from '@buildmesh/protocol';
import { action, command, group } from '../command-kit.js';
import { connect } from '../config.js';
import { CliError, formatAgo, renderTable } from '../output.js';

interface AddOptions {
  json?: boolean;
  events?: string;
  project?: string;
}

const add = action<AddOptions>(
  command('add', 'Add a webhook; prints its signing secret once', [
    'buildmesh webhooks add https://hooks.example.com/buildmesh',
    'buildmesh webhooks add https://ci.example.com/hook --events build.succeeded,build.failed --project my-app',
  ])
    .argument('<url>', 'http(s) URL that receives signed POSTs')
    .option('--events <list>', `comma-separated events (default: all): ${WEBHOOK_EVENTS.join(', ')}`)
    .option('--project <name>', "only this project's builds (default: every project of the org)")
    .addHelpText('after', '\nJSON (--json): { webhook: { id, orgId, project, url, events, createdAt }, secret }\n'),
  async ({ out, opts, args }) => {
    let events: WebhookEventName[] | undefined;
    if (opts.events !== undefined) {
      events = opts.events.split(',').map((e) => e.trim()) as WebhookEventName[];
      const unknown = events.filter((e) => !WEBHOOK_EVENTS.includes(e));
      if (unknown.length > 0) throw new CliError('INVALID_EVENT', `unknown event ${unknown.join(', ')}`, `choose from ${WEBHOOK_EVENTS.join(', ')}`);
    }
    const { client } = await connect();
    const created = await client.createWebhook({ url: args[0]!, ...(events ? { events } : {}), ...(opts.project ? { project: opts.project } : {}) });
    if (out.json) {
      out.printJson(created);
      return;
    }
    out.info(`${out.c.green('✔')} Webhook ${created.webhook.id} → ${created.webhook.url} (${created.webhook.events.length} events)`);
    out.info('Signing secret (shown once; verify BuildMesh-Signature with it):');
    out.info(created.secret);
  },
);

const list = action(
  command('list', "List the org's webhooks", ['buildmesh webhooks list', 'buildmesh webhooks list --json']).addHelpText(
    'after',
    '\nJSON (--json): { webhooks: [{ id, orgId, project, url, events, createdAt }] }\n',
  ),
  async ({ out }) => {
    const { client } = await connect();
    const { webhooks } = await client.listWebhooks();
    if (out.json) {
      out.printJson({ webhooks });
      return;
    }
    if (webhooks.length === 0) {
      out.info('No webhooks.');
      return;
    }
    out.info(
      renderTable(
        webhooks,
        [
          { header: 'ID', value: (w) => w.id },
          { header: 'URL', value: (w) => w.url },
          { header: 'PROJECT', value: (w) => w.project ?? '(all)' },
          { header: 'EVENTS', value: (w) => (w.events.length === WEBHOOK_EVENTS.length ? 'all' : w.events.join(',')) },
          { header: 'CREATED', value: (w) => formatAgo(w.createdAt) },
        ],
        out.c,
      ),
    );
  },
);

const remove = action(
  command('rm', 'Remove a webhook and its delivery log', ['buildmesh webhooks rm whk_…'])
    .argument('<id>', 'webhook id')
    .addHelpText('after', '\nJSON (--json): { id, removed: true }\n'),
  async ({ out, args }) => {
    const { client } = await connect();
    await client.deleteWebhook(args[0]!);
    if (out.json) {
      out.printJson({ id: args[0], removed: true });
      return;
    }
    out.info(`${out.c.green('✔')} Webhook ${args[0]} removed.`);
  },
);

const deliveries = action<{ json?: boolean; limit?: string }>(
  command('deliveries', "A webhook's recent deliveries: event, status, attempts, response code, latency", [
    'buildmesh webhooks deliveries whk_…',
    'buildmesh webhooks deliveries whk_… --limit 200 --json',
  ])
    .argument('<id>', 'webhook id')
    .option('--limit <n>', 'how many (newest first, at most 200)', '50')
    .addHelpText('after', '\nJSON (--json): { deliveries: [{ id, webhookId, eventId, event, status, attempts, nextAttemptAt, lastStatusCode, lastError, lastLatencyMs, createdAt, deliveredAt }] }\n'),
  async ({ out, opts, args }) => {
    const limit = Number(opts.limit ?? 50);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new CliError('INVALID_LIMIT', '--limit must be a whole number from 1 to 200');
    const { client } = await connect();
    const { deliveries: rows } = await client.webhookDeliveries(args[0]!, limit);
    if (out.json) {
      out.printJson({ deliveries: rows });
      return;
    }
    if (rows.length === 0) {
      out.info('No deliveries yet.');
      return;
    }
    out.info(
      renderTable(
        rows,
        [
          { header: 'DELIVERY', value: (d) => d.id },
          { header: 'EVENT', value: (d) => d.event },
          { header: 'STATUS', value: (d) => d.status },
          { header: 'ATTEMPTS', value: (d) => String(d.attempts) },
          { header: 'CODE', value: (d) => (d.lastStatusCode === null ? '-' : String(d.lastStatusCode)) },
          { header: 'LATENCY', value: (d) => (d.lastLatencyMs === null ? '-' : `${d.lastLatencyMs} ms`) },
          { header: 'WHEN', value: (d) => formatAgo(d.createdAt) },
          { header: 'ERROR', value: (d) => d.lastError ?? '' },
        ],
        out.c,
      ),
    );
  },
);

const redeliver = action(
  command('redeliver', 'Send a delivery again (same event id and body, as a new delivery)', ['buildmesh webhooks redeliver whk_… dlv_…'])
    .argument('<id>', 'webhook id')
    .argument('<delivery>', 'delivery id (from `webhooks deliveries`)')
    .addHelpText('after', '\nJSON (--json): the new delivery { id, event, status, … }\n'),
  async ({ out, args }) => {
    const { client } = await connect();
    const copy = await client.redeliverWebhook(args[0]!, args[1]!);
    if (out.json) {
      out.printJson(copy);
      return;
    }
    out.info(`${out.c.green('✔')} Queued ${copy.id} (${copy.event}).`);
  },
);

const test = action(
  command('test', 'Send a signed ping and show how the receiver answered', ['buildmesh webhooks test whk_…'])
    .argument('<id>', 'webhook id')
    .addHelpText('after', '\nJSON (--json): the ping delivery { id, event: "ping", status, lastStatusCode, lastLatencyMs, lastError, … }\nExit status 1 when the receiver did not answer 2xx.\n'),
  async ({ out, args }) => {
    const { client } = await connect();
    const d = await client.testWebhook(args[0]!);
    if (out.json) out.printJson(d);
    else if (d.status === 'delivered') out.info(`${out.c.green('✔')} The receiver answered ${d.lastStatusCode} in ${d.lastLatencyMs} ms.`);
    else out.info(`${out.c.red('✖')} ${d.lastError ?? 'no answer yet'} (delivery ${d.id} is retried with backoff)`);
    return d.status === 'delivered' ? 0 : 1;
  },
);

export const webhooksCommand = group(
  'webhooks',
  "Manage the org's signed webhooks (admin token)",
  ['buildmesh webhooks add https://hooks.example.com/buildmesh', 'buildmesh webhooks deliveries whk_…', 'buildmesh webhooks test whk_…'],
  [add, list, remove, deliveries, redeliver, test],
);
