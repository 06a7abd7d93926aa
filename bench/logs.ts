/**
 * Log throughput and latency through a real controller and a real worker
 * (sandbox `none`, so bwrap's start-up stays out of the figures):
 *
 *  - log_lines_per_s: a custom-config step prints N lines as fast as it can;
 *    N / (the step's START_PHASE timestamp → the moment a reader paging the
 *    build's log with readLogs sees the last line, or the build's finish if
 *    that is later). The reader is part of the figure on purpose: "in the
 *    store" means readable through the API. log_store_lag_ms says where the
 *    time goes: from the step's END_PHASE (the worker has read every line of
 *    the step's output) to the last line being readable.
 *  - log_follow_p50_ms / log_follow_p99_ms: a step prints its own
 *    millisecond clock every ~50 ms; a follower on the SSE stream
 *    (client.followLogs) records arrival time − printed time per line.
 *
 * Worker and controller run on this machine, so both clocks are the same clock.
 */
import type { BuildMeshClient, LogEntry } from '@buildmesh/protocol';
import { makeFixtureProject, submitBuild } from '../test/helpers/builds.js';
import { percentile } from './support/measure.js';
import { expectSucceeded, phaseEnd, phaseStart, withMesh } from './support/mesh.js';

const CHATTY_LINES = 500_000;
const FOLLOW_LINES = 100;

/** Reads a build's log as it grows, page by page from the last cursor: each line is read once. */
class LogReader {
  readonly entries: LogEntry[] = [];
  private cursor: string | undefined;
  constructor(
    private readonly client: BuildMeshClient,
    private readonly buildId: string,
  ) {}

  /** Reads until a line matches `isLast` (returns Date.now() then), or to the end of an ended build's log. */
  async readUntil(isLast: (e: LogEntry) => boolean = () => false): Promise<number> {
    for (;;) {
      const page = await this.client.readLogs(this.buildId, { cursor: this.cursor, limit: 1000 });
      const readAt = Date.now();
      this.entries.push(...page.entries);
      this.cursor = page.nextCursor;
      if (page.entries.some(isLast) || page.complete) return readAt;
      if (page.entries.length === 0) await new Promise((r) => setTimeout(r, 20));
    }
  }
}

export async function benchLogs(): Promise<Record<string, number>> {
  return withMesh({ sandbox: 'none' }, async (mesh) => {
    // Throughput: `seq` writes the lines in large blocks; the worker splits, stamps, batches and ships them.
    const chatty = makeFixtureProject(mesh.scope, [{ id: 'CHATTY', command: `seq 1 ${CHATTY_LINES}` }]);
    const build = await submitBuild(mesh.admin, chatty);
    const reader = new LogReader(mesh.admin, build.id);
    const lastReadableAt = await reader.readUntil((e) => e.stream === 'stdout' && e.text === String(CHATTY_LINES));
    await expectSucceeded(mesh, build.id, 120_000);
    await reader.readUntil();
    const finishedAt = Date.parse((await mesh.admin.getBuild(build.id)).finishedAt!);
    const stdoutLines = reader.entries.filter((e) => e.stream === 'stdout').length;
    if (stdoutLines !== CHATTY_LINES) throw new Error(`read ${stdoutLines} stdout lines, expected ${CHATTY_LINES}`);
    const seconds = (Math.max(lastReadableAt, finishedAt) - phaseStart(reader.entries, 'CHATTY').t) / 1000;
    const storeLagMs = lastReadableAt - phaseEnd(reader.entries, 'CHATTY').t;

    // Latency: each line carries the time it was printed.
    const ticking = makeFixtureProject(mesh.scope, [
      { id: 'TICK', command: `for i in $(seq 1 ${FOLLOW_LINES}); do echo "T $(date +%s%3N)"; sleep 0.05; done` },
    ]);
    const follow = await submitBuild(mesh.admin, ticking);
    const latencies: number[] = [];
    for await (const entry of mesh.admin.followLogs(follow.id)) {
      const printed = /^T (\d{13})$/.exec(entry.text);
      if (entry.stream === 'stdout' && printed) latencies.push(Date.now() - Number(printed[1]));
    }
    await expectSucceeded(mesh, follow.id, 60_000);
    if (latencies.length !== FOLLOW_LINES) throw new Error(`the follower saw ${latencies.length} of ${FOLLOW_LINES} lines`);

    return {
      log_lines_per_s: CHATTY_LINES / seconds,
      log_store_lag_ms: storeLagMs,
      log_follow_p50_ms: percentile(latencies, 50),
      log_follow_p99_ms: percentile(latencies, 99),
    };
  });
}
