/** `buildmesh workers`: the workers that can take your builds — platforms, labels, state, what they run. */
import { action, command } from '../command-kit.js';
import { connect } from '../config.js';
import { colorStatus, formatAgo, formatLabels, renderTable } from '../output.js';
import { workersRevokeCommand } from './workers-revoke.js';
import { cli } from '../invocation.js';

export const workersCommand = action<{ json?: boolean }>(
  command('workers', 'List workers: name, platforms, labels, state, current builds, last seen; `workers revoke ID` removes one', [
    'buildmesh workers',
    'buildmesh workers --json',
    'buildmesh workers revoke wrk_01jb7x6k2m3n4p5q6r7s8t9v0w',
  ]).addHelpText(
    'after',
    '\nJSON (--json): { workers: WorkerInfo[] } (id, name, pool, platforms, labels, concurrency, state, currentBuilds, busySlots, lastSeenAt, version, toolchains)\n',
  ),
  async ({ out }) => {
    const { client } = await connect();
    const { workers } = await client.listWorkers();
    if (out.json) {
      out.printJson({ workers });
      return;
    }
    if (workers.length === 0) {
      out.info(`No workers enrolled. Start one with: ${cli()} worker --url URL --token-file FILE (see \`${cli()} admin enroll-token create\`)`);
      return;
    }
    const { c } = out;
    out.info(renderTable(workers, [
      { header: 'NAME', value: (w) => w.name, max: 28 },
      { header: 'PLATFORMS', value: (w) => w.platforms.join(',') || '-' },
      { header: 'LABELS', value: (w) => formatLabels(w.labels), max: 48 },
      { header: 'STATE', value: (w) => w.state, color: (t) => colorStatus(c, t) },
      { header: 'SLOTS', value: (w) => `${w.busySlots}/${w.concurrency}` },
      { header: 'CURRENT BUILD', value: (w) => w.currentBuilds.join(',') || (w.busySlots > 0 ? '(other org)' : '-'), max: 60 },
      { header: 'LAST SEEN', value: (w) => formatAgo(w.lastSeenAt) },
    ], c));
  },
).addCommand(workersRevokeCommand);
