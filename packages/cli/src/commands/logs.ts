/**
 * `buildmesh logs ID`: the build's log with phase headers. `-f` follows it live until the build
 * ends, resuming across dropped connections and controller restarts (every line once, in order).
 * With --json, one LogEntry per line (NDJSON), in both modes.
 */
import type { LogEntry } from '@buildmesh/protocol';
import { action, checkBuildId, command, intOption } from '../command-kit.js';
import { connect } from '../config.js';
import { followBuild, LogPrinter } from '../follow.js';
import { EXIT } from '../output.js';
import { exitCodeFor } from '../wait.js';

interface LogsOptions {
  json?: boolean;
  follow?: boolean;
  attempt?: number;
}

const PAGE_LIMIT = 1000;

export const logsCommand = action<LogsOptions>(
  command('logs', "Print a build's log; -f follows it live until the build ends", [
    'buildmesh logs bld_01jb7x6k2m3n4p5q6r7s8t9v0w',
    'buildmesh logs -f bld_01jb7x6k2m3n4p5q6r7s8t9v0w',
    'buildmesh logs bld_01jb7x6k2m3n4p5q6r7s8t9v0w --attempt 2 --json | jq -r .text',
  ])
    .argument('<id>', 'build id', checkBuildId)
    .option('-f, --follow', 'keep printing new lines until the build ends (exit status follows the build)')
    .option('--attempt <n>', 'only the lines of this attempt', intOption(1, 1000))
    .addHelpText('after', '\nJSON (--json): NDJSON, one LogEntry per line: { t, stream, phase?, text, marker?, result?, durationMs?, exitCode?, attempt }\n'),
  async ({ out, opts, args }) => {
    const id = args[0]!;
    const { client } = await connect();
    const printer = new LogPrinter(process.stdout);
    const onEntry = (e: LogEntry) => (out.json ? out.printJsonLine(e) : printer.entry(e));

    if (opts.follow) {
      const stop = new AbortController();
      const onSigint = () => stop.abort();
      process.once('SIGINT', onSigint);
      try {
        const ended = await followBuild(client, id, {
          attempt: opts.attempt,
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
    let cursor: string | undefined;
    for (;;) {
      const page = await client.readLogs(id, { cursor, limit: PAGE_LIMIT, attempt: opts.attempt });
      for (const entry of page.entries) onEntry(entry);
      // A cursor that does not advance would loop forever: stop on it as on the end.
      if (page.complete || page.entries.length === 0 || page.nextCursor === cursor) break;
      cursor = page.nextCursor;
    }
    return EXIT.ok;
  },
);
