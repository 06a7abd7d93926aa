/**
 * `buildmesh logs ID`: the build's log with phase headers. `-f` follows it live until the build
 * ends, resuming across dropped connections and controller restarts (every line once, in order).
 * With --json, one LogEntry per line (NDJSON), in both modes. `--tail N` starts at the last N lines
 * (the controller finds them from its batch index: the rest of the log is never read).
 */
import type { LogEntry } from '@buildmesh/protocol';
import { action, command, intOption } from '../command-kit.js';
import { checkBuildRef, resolveBuildRef } from '../build-ref.js';
import { connect } from '../config.js';
import { followBuild, LogPrinter } from '../follow.js';
import type { BuildMeshClient } from '@buildmesh/protocol';
import { CliError, EXIT } from '../output.js';
import { cli } from '../invocation.js';
import { exitCodeFor } from '../wait.js';

interface LogsOptions {
  json?: boolean;
  follow?: boolean;
  attempt?: number;
  tail?: number;
}

/** Lines per page: small pages keep both ends' memory flat on a long log. */
const PAGE_LIMIT = 500;

export const logsCommand = action<LogsOptions>(
  command('logs', "Print a build's log; -f follows it live until the build ends", [
    'buildmesh logs bld_01jb7x6k2m3n4p5q6r7s8t9v0w',
    'buildmesh logs -f bld_01jb7x6k2m3n4p5q6r7s8t9v0w',
    'buildmesh logs latest',
    'buildmesh logs bld_01jb7x6k2m3n4p5q6r7s8t9v0w --attempt 2 --json | jq -r .text',
    'buildmesh logs --tail 100 -f bld_01jb7x6k2m3n4p5q6r7s8t9v0w',
  ])
    .argument('<id>', 'build id, a unique prefix of one, or latest', checkBuildRef)
    .option('-f, --follow', 'keep printing new lines until the build ends (exit status follows the build)')
    .option('--attempt <n>', 'only the lines of this attempt', intOption(1, 1000))
    .option('--tail <n>', 'start at the last n lines (with -f, then follow)', intOption(1, 10000))
    .addHelpText('after', '\nJSON (--json): NDJSON, one LogEntry per line: { t, stream, phase?, text, marker?, result?, durationMs?, exitCode?, attempt }\n'),
  async ({ out, opts, args }) => {
    const { client } = await connect();
    const id = await resolveBuildRef(client, args[0]!);
    let printed = 0;
    if (opts.attempt !== undefined) {
      // An attempt that does not exist is said, not answered with silence (a running build may still get it).
      const build = await client.getBuild(id);
      const ended = build.status !== 'queued' && build.status !== 'running';
      if (opts.attempt > build.attemptCount && (ended || !opts.follow)) {
        throw new CliError('NO_SUCH_ATTEMPT', `attempt ${opts.attempt} does not exist (${build.attemptCount} attempt${build.attemptCount === 1 ? '' : 's'})`, build.attemptCount > 0 ? `omit --attempt, or give 1…${build.attemptCount}` : 'the build has not started');
      }
    }
    const printer = new LogPrinter(process.stdout);
    const onEntry = (e: LogEntry) => {
      printed++;
      if (out.json) out.printJsonLine(e);
      else printer.entry(e);
    };

    // --tail: the first page starts at the last N lines (it may hold fewer when they are long); later pages fill up to N.
    let cursor: string | undefined;
    if (opts.tail !== undefined) {
      const before = printed;
      let page = await client.readLogs(id, { tail: opts.tail, attempt: opts.attempt });
      for (;;) {
        for (const entry of page.entries) onEntry(entry);
        const stuck = page.nextCursor === cursor;
        cursor = page.nextCursor;
        if (printed - before >= opts.tail || page.complete || page.entries.length === 0 || stuck) break;
        page = await client.readLogs(id, { cursor, limit: Math.min(PAGE_LIMIT, opts.tail - (printed - before)), attempt: opts.attempt });
      }
      if (!opts.follow) return EXIT.ok;
    }

    if (opts.follow) {
      const stop = new AbortController();
      const onSigint = () => stop.abort();
      process.once('SIGINT', onSigint);
      try {
        const ended = await followBuild(client, id, {
          attempt: opts.attempt,
          cursor,
          signal: stop.signal,
          handlers: { onEntry, onQueue: (b) => printer.queue(b) },
        });
        printer.clearQueueLine();
        process.stderr.write(`build ${ended.id} ${ended.status.replace('_', ' ')}${ended.error ? `: ${ended.error.code}` : ''}\n`);
        return exitCodeFor(ended);
      } catch (err) {
        printer.clearQueueLine();
        if (stop.signal.aborted) return EXIT.interrupted;
        throw err;
      } finally {
        process.off('SIGINT', onSigint);
      }
    }

    // Without -f: page through what is stored now.
    for (;;) {
      const page = await client.readLogs(id, { cursor, limit: PAGE_LIMIT, attempt: opts.attempt });
      for (const entry of page.entries) onEntry(entry);
      // A cursor that does not advance would loop forever: stop on it as on the end.
      if (page.complete || page.entries.length === 0 || page.nextCursor === cursor) break;
      cursor = page.nextCursor;
    }
    if (printed === 0) await explainEmptyLog(client, id);
    return EXIT.ok;
  },
);

/** An empty log says why: the build never started, or has not yet. */
async function explainEmptyLog(client: BuildMeshClient, id: string): Promise<void> {
  const build = await client.getBuild(id);
  if (build.attemptCount > 0) return;
  if (build.status === 'queued') process.stderr.write(`build ${id} is queued: no log yet (follow it with \`${cli()} logs -f ${id}\`)\n`);
  else process.stderr.write(`build ${id} ${build.status === 'canceled' ? 'was canceled before it started' : `${build.status.replace('_', ' ')} before it started`}: no log\n`);
}
