/**
 * Waiting for a submitted build the way `build` (and `retry --wait`) does: follow it (queue,
 * then live log), answer Ctrl-C by asking whether to cancel it, then download and verify its
 * artifacts, and turn the outcome into an exit code.
 */
import type { Build, BuildMeshClient } from '@buildmesh/protocol';
import { downloadBuildArtifacts, type DownloadedArtifact } from './download.js';
import { followBuild, LogPrinter } from './follow.js';
import { ARTIFACT_FIELDS_HINT, buildErrorLine, EXIT, formatDuration, terminalText, type Output } from './output.js';
import { confirm, stdinIsTty } from './prompt.js';
import { cli } from './invocation.js';

export interface WaitOutcome {
  build: Build;
  artifacts: DownloadedArtifact[];
  exitCode: number;
  /** Ctrl-C: we stopped waiting; the build keeps running on the controller. */
  interrupted: boolean;
}

export interface WaitOptions {
  out: Output;
  /** Where artifacts go; null: do not download. */
  outputDir: string | null;
  /** Every build the command started (`--platform all`): Ctrl-C offers to cancel them all. */
  started?: readonly Build[];
}

export function exitCodeFor(build: Build): number {
  switch (build.status) {
    case 'succeeded':
      return EXIT.ok;
    case 'canceled':
      return EXIT.canceled;
    case 'timed_out':
      return EXIT.timedOut;
    default:
      return EXIT.failure;
  }
}

export async function waitForBuild(client: BuildMeshClient, build: Build, options: WaitOptions): Promise<WaitOutcome> {
  const { out } = options;
  const printer = new LogPrinter(out.json ? process.stderr : process.stdout);
  const stop = new AbortController();
  const followEnded = new AbortController();
  let interrupted = false;
  let asking = false;

  // Ctrl-C: at a terminal, ask whether to cancel the build; otherwise stop waiting and leave it running.
  const onSigint = async () => {
    if (asking) return;
    if (!stdinIsTty()) {
      interrupted = true;
      stop.abort();
      return;
    }
    asking = true;
    printer.pause();
    const all = options.started && options.started.length > 1 ? options.started : [build];
    const question =
      all.length > 1
        ? `\nCancel all ${all.length} builds this command started (${all.map((b) => `${b.platform} ${b.id}`).join(', ')}) on the controller? (no: stop waiting, they keep running)`
        : `\nCancel build ${build.id} on the controller? (no: stop waiting, the build keeps running)`;
    const answer = await confirm(question, followEnded.signal);
    asking = false;
    if (followEnded.signal.aborted) return; // the build ended while we asked
    if (answer === true) {
      // Each one on its own: one that already ended must not keep the others running.
      const results = await Promise.allSettled(all.map((b) => client.cancelBuild(b.id)));
      printer.resume();
      results.forEach((r, i) => {
        if (r.status === 'rejected') out.warn(`could not cancel ${all[i]!.id}: ${(r.reason as Error).message}`);
      });
      if (results.some((r) => r.status === 'fulfilled')) {
        printer.message(out.ce.yellow(all.length > 1 ? `cancel requested for ${all.length} builds; waiting for this one to stop…` : 'cancel requested; waiting for the build to stop…'));
      }
    } else {
      interrupted = true;
      printer.resume();
      stop.abort();
    }
  };
  process.on('SIGINT', onSigint);

  let ended: Build;
  try {
    ended = await followBuild(client, build.id, {
      signal: stop.signal,
      handlers: { onEntry: (e) => printer.entry(e), onQueue: (b) => printer.queue(b) },
    });
  } catch (err) {
    printer.clearQueueLine();
    if (!interrupted) throw err;
    out.info();
    out.info(`Stopped waiting. Build ${build.id} keeps running; follow it with: ${cli()} logs -f ${build.id}`);
    return { build, artifacts: [], exitCode: EXIT.interrupted, interrupted: true };
  } finally {
    process.off('SIGINT', onSigint);
    followEnded.abort();
    printer.resume();
  }

  const seconds = ended.startedAt && ended.finishedAt ? (Date.parse(ended.finishedAt) - Date.parse(ended.startedAt)) / 1000 : null;
  const took = seconds !== null ? ` in ${formatDuration(seconds)}` : '';
  if (ended.status === 'canceled' && ended.error?.code === 'BUILD_CANCELED') {
    // "canceled: canceled by a user — The build was canceled." said it three times; once is enough.
    out.info();
    process.stderr.write(terminalText(`${out.ce.yellow('✖')} build ${ended.id} ${/^canceled\b/.test(ended.error.message) ? ended.error.message : `canceled: ${ended.error.message}`}${took}\n`));
    return { build: ended, artifacts: [], exitCode: exitCodeFor(ended), interrupted: false };
  }
  if (ended.status !== 'succeeded') {
    const line = buildErrorLine(ended.error);
    out.info();
    process.stderr.write(
      terminalText(
        `${out.ce.red(out.ce.bold('error'))} ${out.ce.bold(line.code)}: build ${ended.id} ${ended.status.replace('_', ' ')}${took}: ${line.message}` +
          (line.hint ? ` — ${line.hint}` : '') +
          '\n',
      ),
    );
    return { build: ended, artifacts: [], exitCode: exitCodeFor(ended), interrupted: false };
  }

  out.info();
  out.info(out.c.green(`✔ build ${ended.id} succeeded${took}`));
  let artifacts: DownloadedArtifact[] = [];
  if (options.outputDir !== null) {
    artifacts = await downloadBuildArtifacts(client, ended.id, options.outputDir, { progress: true });
    if (artifacts.length === 0) out.warn(`the build produced no artifacts; ${ARTIFACT_FIELDS_HINT}`);
    for (const a of artifacts) out.info(`  ${a.path}  ${out.c.dim(`sha256 ${a.sha256}`)}`);
  }
  return { build: ended, artifacts, exitCode: EXIT.ok, interrupted: false };
}
