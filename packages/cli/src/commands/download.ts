/** `buildmesh download ID`: fetches a build's artifacts into a directory, verifying each sha256. */
import { resolve } from 'node:path';
import { action, command, intOption } from '../command-kit.js';
import { checkBuildRef, resolveBuildRef } from '../build-ref.js';
import { connect } from '../config.js';
import { downloadBuildArtifacts } from '../download.js';
import { ARTIFACT_FIELDS_HINT, CliError } from '../output.js';

interface DownloadOptions {
  json?: boolean;
  output?: string;
  attempt?: number;
}

export const downloadCommand = action<DownloadOptions>(
  command('download', "Download a build's artifacts and verify their sha256", [
    'buildmesh download bld_01jb7x6k2m3n4p5q6r7s8t9v0w',
    'buildmesh download bld_01jb7x6k2m3n4p5q6r7s8t9v0w --output ./dist',
    'buildmesh download latest',
  ])
    .argument('<id>', 'build id, a unique prefix of one, or latest', checkBuildRef)
    .option('-o, --output <dir>', 'directory for the files (default ./build-artifacts/<id>)')
    .option('--attempt <n>', "an earlier attempt's artifacts (default: the latest attempt with any)", intOption(1, 1000))
    .addHelpText(
      'after',
      '\nAn interrupted download resumes from its .part file; a file already present with the right sha256 is kept.\n' +
        'JSON (--json): { buildId, outputDir, artifacts: [{ id, name, kind, attemptNumber, path, size, sha256, verified, alreadyPresent }] }\n',
    ),
  async ({ out, opts, args }) => {
    const { client } = await connect();
    const id = await resolveBuildRef(client, args[0]!);
    const outputDir = resolve(opts.output ?? `build-artifacts/${id}`);
    const artifacts = await downloadBuildArtifacts(client, id, outputDir, { attempt: opts.attempt, progress: true });
    if (out.json) {
      out.printJson({ buildId: id, outputDir, artifacts });
      return;
    }
    if (artifacts.length === 0) {
      const build = await client.getBuild(id);
      throw new CliError('NO_ARTIFACTS', `build ${id} has no artifacts (status ${build.status})`, build.status === 'succeeded' ? ARTIFACT_FIELDS_HINT : 'artifacts appear when the build succeeds');
    }
    for (const a of artifacts) out.info(`${out.c.green('✔')} ${a.path}${a.alreadyPresent ? out.c.dim(' (already present)') : ''}  ${out.c.dim(`sha256 ${a.sha256}`)}`);
  },
);
