/** `buildmesh status ID`: one build — where it stands, why it waits, its attempts, error and artifacts. */
import type { Artifact, Build } from '@buildmesh/protocol';
import { action, command } from '../command-kit.js';
import { checkBuildRef, resolveBuildRef } from '../build-ref.js';
import { connect, buildUrl } from '../config.js';
import { describeQueue } from '../follow.js';
import { formatBytes } from '../pack/pack.js';
import { buildErrorLine, colorStatus, formatAgo, formatDuration, formatLabels, plainText, renderFields, renderTable, type Output } from '../output.js';
import { cli } from '../invocation.js';

export const statusCommand = action<{ json?: boolean }>(
  command('status', 'Show a build: status, queue position, attempts, error and artifacts', [
    'buildmesh status bld_01jb7x6k2m3n4p5q6r7s8t9v0w',
    'buildmesh status bld_01jb7x6k2m3n4p5q6r7s8t9v0w --json',
    'buildmesh status latest',
    'buildmesh status 01jb7x6k        # a unique prefix',
  ])
    .argument('<id>', 'build id, a unique prefix of one, or latest', checkBuildRef)
    .addHelpText('after', '\nJSON (--json): { build, artifacts, buildUrl }\n'),
  async ({ out, args }) => {
    const { client, connection } = await connect();
    const id = await resolveBuildRef(client, args[0]!);
    const build = await client.getBuild(id);
    const { artifacts } = await client.listArtifacts(id);
    const url = buildUrl(connection.url, id);
    if (out.json) {
      out.printJson({ build, artifacts, buildUrl: url });
      return;
    }
    printBuild(out, build, artifacts, url);
  },
);

export function printBuild(out: Output, build: Build, artifacts: readonly Artifact[], url: string): void {
  const { c } = out;
  const ran = build.startedAt ? ((build.finishedAt ? Date.parse(build.finishedAt) : Date.now()) - Date.parse(build.startedAt)) / 1000 : null;
  out.info(renderFields([
    ['build', c.bold(build.id)],
    ['status', colorStatus(c, build.status) + (build.cancelRequested && build.status === 'running' ? c.yellow(' (cancel requested)') : '')],
    ['project', build.project],
    ['platform', build.platform],
    ['profile', build.profileName],
    ['message', build.message === null ? null : plainText(build.message)],
    ['commit', build.gitCommit],
    ['labels', Object.keys(build.labels).length ? formatLabels(build.labels) : null],
    ['priority', build.priority !== 0 ? String(build.priority) : null],
    ['created', `${build.createdAt} (${formatAgo(build.createdAt)})`],
    ['ran for', ran !== null ? formatDuration(ran) : null],
    // A failed build is never retried (only a lost worker's attempt is): "1 of 3" would promise retries.
    ['attempts', build.status === 'queued' || build.status === 'running' ? `${build.attemptCount} (up to ${build.maxAttempts} if a worker is lost)` : String(build.attemptCount)],
    ['retry of', build.retryOf],
    ['url', url],
  ], c));
  if (build.status === 'queued' && build.queue) out.info(`\n${c.cyan(describeQueue(build))}`);
  if (build.error) {
    const e = buildErrorLine(build.error);
    out.info(`\n${c.red(c.bold(e.code))}: ${e.message}${e.hint ? `\n${c.dim(e.hint)}` : ''}`);
  }
  if (build.attempts?.length) {
    out.info('\n' + renderTable(build.attempts, [
      { header: '#', value: (a) => String(a.number) },
      { header: 'WORKER', value: (a) => a.workerName, max: 30 },
      { header: 'STATUS', value: (a) => a.status, color: (t) => colorStatus(c, t) },
      { header: 'STARTED', value: (a) => formatAgo(a.startedAt) },
      { header: 'DURATION', value: (a) => formatDuration(((a.finishedAt ? Date.parse(a.finishedAt) : Date.now()) - Date.parse(a.startedAt)) / 1000) },
      { header: 'ERROR', value: (a) => a.error?.code ?? '' },
    ], c));
  }
  if (artifacts.length) {
    out.info('\n' + renderTable(artifacts, [
      { header: 'ARTIFACT', value: (a) => a.name, max: 60 },
      { header: 'KIND', value: (a) => a.kind },
      { header: 'SIZE', value: (a) => formatBytes(a.size) },
      { header: 'SHA256', value: (a) => a.sha256.slice(0, 16) + '…' },
    ], c));
    out.info(c.dim(`\nDownload: ${cli()} download ${build.id}`));
  }
}
