/**
 * `buildmesh workers revoke ID` (org admin; shared-pool workers: instance admin): the worker's
 * credential stops working at once — claims, heartbeats, every worker route. A build it was running
 * is requeued once its lease lapses.
 */
import { action, command } from '../command-kit.js';
import { connect } from '../config.js';

export const workersRevokeCommand = action<{ json?: boolean }>(
  command('revoke', 'Revoke a worker: its credential stops working at once', ['buildmesh workers revoke wrk_01jb7x6k2m3n4p5q6r7s8t9v0w'])
    .argument('<id>', 'worker id (wrk_…, see `buildmesh workers --json`)')
    .addHelpText('after', '\nJSON (--json): { ok: true, workerId }\n'),
  async ({ out, args }) => {
    const { client } = await connect();
    await client.removeWorker(args[0]!);
    if (out.json) {
      out.printJson({ ok: true, workerId: args[0] });
      return;
    }
    out.info(`${out.c.green('✔')} Worker ${args[0]} revoked; to bring the machine back, enroll it again with a new enrollment token.`);
  },
);
