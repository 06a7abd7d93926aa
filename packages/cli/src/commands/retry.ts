/** `buildmesh retry ID`: a new build from an ended one (same source, profile and platform). */
import { action, command } from '../command-kit.js';
import { checkBuildRef, resolveBuildRef } from '../build-ref.js';
import { connect, buildUrl } from '../config.js';
import { ApiError } from '@buildmesh/protocol';
import { CliError, EXIT } from '../output.js';
import { cli } from '../invocation.js';
import { waitForBuild } from '../wait.js';
import { resolve } from 'node:path';

interface RetryOptions {
  json?: boolean;
  wait?: boolean;
  output?: string;
}

export const retryCommand = action<RetryOptions>(
  command('retry', 'Submit an ended build again (re-uses its stored source)', [
    'buildmesh retry bld_01jb7x6k2m3n4p5q6r7s8t9v0w',
    'buildmesh retry bld_01jb7x6k2m3n4p5q6r7s8t9v0w --wait --output ./dist',
  ])
    .argument('<id>', 'build id, a unique prefix of one, or latest', checkBuildRef)
    .option('--wait', 'follow the new build and download its artifacts, like `build`')
    .option('-o, --output <dir>', 'with --wait: where artifacts go (default ./build-artifacts/<new id>)')
    .addHelpText('after', '\nJSON (--json): { build, buildUrl, artifacts }\n'),
  async ({ out, opts, args }) => {
    const { client, connection } = await connect();
    const id = await resolveBuildRef(client, args[0]!);
    const build = await client.retryBuild(id).catch((err: unknown) => {
      if (err instanceof ApiError && err.code === 'BUILD_NOT_RETRYABLE') {
        throw new CliError(err.code, err.message, `wait for the build to end, or cancel it first with \`${cli()} cancel ${id}\``);
      }
      throw err;
    });
    const url = buildUrl(connection.url, build.id);
    out.info(`${out.c.green('✔')} Build ${out.c.bold(build.id)} queued (retry of ${id})`);
    out.info(`  ${url}`);
    if (!opts.wait) {
      if (out.json) out.printJson({ build, buildUrl: url, artifacts: [] });
      return EXIT.ok;
    }
    const outcome = await waitForBuild(client, build, { out, outputDir: resolve(opts.output ?? `build-artifacts/${build.id}`) });
    if (out.json) out.printJson({ build: outcome.build, buildUrl: url, artifacts: outcome.artifacts });
    return outcome.exitCode;
  },
);
