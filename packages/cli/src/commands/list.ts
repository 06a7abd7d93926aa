/** `buildmesh list`: recent builds as a table, filtered by status, platform, profile or project. */
import { Option } from 'commander';
import type { Build, BuildStatus, ListBuildsQuery, Platform } from '@buildmesh/protocol';
import { action, command, intOption } from '../command-kit.js';
import { connect } from '../config.js';
import { colorStatus, formatAgo, formatDuration, renderTable } from '../output.js';
import { cli } from '../invocation.js';

interface ListOptions {
  json?: boolean;
  status?: BuildStatus;
  platform?: Platform;
  profile?: string;
  project?: string;
  limit: number;
  cursor?: string;
}

function duration(b: Build): string {
  if (!b.startedAt) return '-';
  return formatDuration(((b.finishedAt ? Date.parse(b.finishedAt) : Date.now()) - Date.parse(b.startedAt)) / 1000);
}

export const listCommand = action<ListOptions>(
  command('list', 'List recent builds, newest first', [
    'buildmesh list',
    'buildmesh list --status failed --platform ios --limit 5',
    'buildmesh list --profile preview --json',
  ])
    .addOption(new Option('--status <status>', 'only builds in this state').choices(['queued', 'running', 'succeeded', 'failed', 'canceled', 'timed_out']))
    .addOption(new Option('--platform <platform>', 'only this platform').choices(['android', 'ios', 'web']))
    .option('--profile <name>', 'only this build profile')
    .option('--project <name>', 'only this project')
    .option('--limit <n>', 'how many builds (1-200)', intOption(1, 200), 20)
    .option('--cursor <cursor>', 'continue after a previous page (its nextCursor)')
    .addHelpText('after', '\nJSON (--json): { builds: Build[], nextCursor: string | null }\n'),
  async ({ out, opts }) => {
    const { client } = await connect();
    const query: ListBuildsQuery = { limit: opts.limit };
    if (opts.status) query.status = opts.status;
    if (opts.platform) query.platform = opts.platform;
    if (opts.profile) query.profile = opts.profile;
    if (opts.project) query.project = opts.project;
    if (opts.cursor) query.cursor = opts.cursor;
    const page = await client.listBuilds(query);
    if (out.json) {
      out.printJson(page);
      return;
    }
    if (page.builds.length === 0) {
      out.info('No builds match.');
      return;
    }
    const { c } = out;
    out.info(renderTable(page.builds, [
      { header: 'ID', value: (b) => b.id },
      { header: 'PROJECT', value: (b) => b.project, max: 24 },
      { header: 'PLATFORM', value: (b) => b.platform },
      { header: 'PROFILE', value: (b) => b.profileName, max: 16 },
      { header: 'STATUS', value: (b) => b.status, color: (t) => colorStatus(c, t) },
      { header: 'CREATED', value: (b) => formatAgo(b.createdAt) },
      { header: 'DURATION', value: duration },
      { header: 'ERROR / MESSAGE', value: (b) => b.error?.code ?? b.message ?? '', max: 40 },
    ], c));
    if (page.nextCursor) out.info(c.dim(`\nMore: ${cli()} list --limit ${opts.limit} --cursor ${page.nextCursor}`));
  },
);
