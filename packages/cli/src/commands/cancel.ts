/** `buildmesh cancel ID`: asks the controller to cancel a build; a running one stops at its next heartbeat. */
import { action, checkBuildId, command } from '../command-kit.js';
import { connect } from '../config.js';
import { colorStatus } from '../output.js';

export const cancelCommand = action<{ json?: boolean }>(
  command('cancel', 'Cancel a queued or running build', ['buildmesh cancel bld_01jb7x6k2m3n4p5q6r7s8t9v0w'])
    .argument('<id>', 'build id', checkBuildId)
    .addHelpText('after', '\nJSON (--json): { build }\n'),
  async ({ out, args }) => {
    const { client } = await connect();
    const build = await client.cancelBuild(args[0]!);
    if (out.json) {
      out.printJson({ build });
      return;
    }
    out.info(
      build.status === 'canceled'
        ? `Build ${build.id} ${colorStatus(out.c, 'canceled')}.`
        : `Cancel requested for build ${build.id} (${build.status}); its worker stops it at the next heartbeat. Watch: buildmesh logs -f ${build.id}`,
    );
  },
);
