/** `buildmesh stats [--hours N] [--json]`: success rate and duration percentiles of the org's builds per platform and profile. */
import { action, command } from '../command-kit.js';
import { connect } from '../config.js';
import { CliError, renderTable } from '../output.js';

const seconds = (s: number | null) => (s === null ? '-' : s < 120 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`);

export const statsCommand = action<{ json?: boolean; hours?: string; phases?: boolean }>(
  command('stats', "How the org's builds fared: success rate, p50/p90 run time and queue wait per platform and profile", [
    'buildmesh stats',
    'buildmesh stats --hours 24 --phases',
    'buildmesh stats --json',
  ])
    .option('--hours <n>', 'the window, ending now (1–2160)', '168')
    .option('--phases', 'also show p50/p90 per build phase')
    .addHelpText(
      'after',
      '\nJSON (--json): { since, until, truncated, groups: [{ platform, profile, total, succeeded, failed, canceled, timedOut, successRate, duration: { p50Seconds, p90Seconds }, queueWait: { p50Seconds, p90Seconds }, phases: [{ name, count, p50Seconds, p90Seconds }] }] }\n',
    ),
  async ({ out, opts }) => {
    const hours = Number(opts.hours ?? 168);
    if (!Number.isInteger(hours) || hours < 1 || hours > 2160) throw new CliError('INVALID_HOURS', '--hours must be a whole number from 1 to 2160');
    const { client } = await connect();
    const stats = await client.stats(hours);
    if (out.json) {
      out.printJson(stats);
      return;
    }
    if (stats.groups.length === 0) {
      out.info(`No builds ended in the last ${hours} h.`);
      return;
    }
    out.info(
      renderTable(
        stats.groups,
        [
          { header: 'PLATFORM', value: (g) => g.platform },
          { header: 'PROFILE', value: (g) => g.profile },
          { header: 'BUILDS', value: (g) => String(g.total) },
          { header: 'SUCCESS', value: (g) => (g.successRate === null ? '-' : `${Math.round(g.successRate * 100)} %`) },
          { header: 'P50', value: (g) => seconds(g.duration.p50Seconds) },
          { header: 'P90', value: (g) => seconds(g.duration.p90Seconds) },
          { header: 'WAIT P50', value: (g) => seconds(g.queueWait.p50Seconds) },
          { header: 'WAIT P90', value: (g) => seconds(g.queueWait.p90Seconds) },
        ],
        out.c,
      ),
    );
    if (opts.phases) {
      const rows = stats.groups.flatMap((g) => g.phases.map((p) => ({ g, p })));
      if (rows.length > 0) {
        out.info('');
        out.info(
          renderTable(
            rows,
            [
              { header: 'PLATFORM', value: (r) => r.g.platform },
              { header: 'PROFILE', value: (r) => r.g.profile },
              { header: 'PHASE', value: (r) => r.p.name },
              { header: 'RUNS', value: (r) => String(r.p.count) },
              { header: 'P50', value: (r) => seconds(r.p.p50Seconds) },
              { header: 'P90', value: (r) => seconds(r.p.p90Seconds) },
            ],
            out.c,
          ),
        );
      }
    }
    if (stats.truncated) out.warn('more builds ended in this window than are read; the figures cover the newest 50,000');
  },
);
