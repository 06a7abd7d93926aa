/** `buildmesh cancel ID`: asks the controller to cancel a build; a running one stops at its next heartbeat. */
import { action, command } from '../command-kit.js';
import { checkBuildRef, resolveBuildRef } from '../build-ref.js';
import { connect } from '../config.js';
import { ApiError } from '@buildmesh/protocol';
import { CliError, colorStatus } from '../output.js';
import { cli } from '../invocation.js';

export const cancelCommand = action<{ json?: boolean }>(
  command('cancel', 'Cancel a queued or running build', ['buildmesh cancel bld_01jb7x6k2m3n4p5q6r7s8t9v0w'])
    .argument('<id>', 'build id, a unique prefix of one, or latest', checkBuildRef)
    .addHelpText('after', '\nJSON (--json): { build }\n'),
  async ({ out, args }) => {
    const { client } = await connect();
    const id = await resolveBuildRef(client, args[0]!);
    const build = await client.cancelBuild(id).catch((err: unknown) => {
      if (err instanceof ApiError && err.code === 'BUILD_NOT_CANCELABLE') throw new CliError(err.code, err.message, `\`${cli()} status ${id}\` shows how it ended`);
      throw err;
    });
    if (out.json) {
      out.printJson({ build });
      return;
    }
    out.info(
      build.status === 'canceled'
        ? `Build ${build.id} ${colorStatus(out.c, 'canceled')}.`
        : `Cancel requested for build ${build.id} (${build.status}); its worker stops it at the next heartbeat. Watch: ${cli()} logs -f ${build.id}`,
    );
  },
);
