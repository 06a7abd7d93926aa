/**
 * `buildmesh admin audit [--since 24h|ISO] [--json]`: the audit log, oldest first, page by page
 * (never the whole log in memory). An org admin sees its org; the instance admin every org.
 */
import { action, command } from '../../command-kit.js';
import { connect } from '../../config.js';
import { CliError, jsonText, renderTable } from '../../output.js';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `24h`, `7d`, `30m` before now, or an ISO timestamp. */
export function parseSince(value: string, now = Date.now()): string {
  const rel = /^(\d+)([smhd])$/.exec(value.trim());
  if (rel) return new Date(now - Number(rel[1]) * UNITS[rel[2]!]!).toISOString();
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new CliError('INVALID_SINCE', `--since ${value} is neither a duration nor a date`, 'use e.g. 24h, 7d or 2026-12-01T00:00:00Z');
  return new Date(at).toISOString();
}

export const auditCommand = action<{ json?: boolean; since?: string }>(
  command('audit', 'Show the audit log: who did what, when, from which address', [
    'buildmesh admin audit --since 24h',
    'buildmesh admin audit --since 2026-12-01T00:00:00Z --json',
  ])
    .option('--since <when>', 'entries from this time: a duration before now (30m, 24h, 7d) or an ISO date (default: everything)')
    .addHelpText('after', '\nJSON (--json): { entries: [{ id, orgId, actorKind, actorId, actorName, action, targetType, targetId, details, ip, createdAt }] }\n'),
  async ({ out, opts }) => {
    const since = opts.since === undefined ? undefined : parseSince(opts.since);
    const { client } = await connect();
    let cursor: string | undefined;
    let first = true;
    if (out.json) process.stdout.write('{ "entries": [');
    for (;;) {
      const page = await client.audit({ ...(since ? { since } : {}), ...(cursor ? { cursor } : {}), limit: 1000 });
      if (out.json) {
        for (const e of page.entries) {
          process.stdout.write(`${first ? '\n' : ',\n'}  ${jsonText(e)}`);
          first = false;
        }
      } else if (page.entries.length > 0) {
        const table = renderTable(
          page.entries,
          [
            { header: 'TIME', value: (e) => e.createdAt },
            { header: 'ACTOR', value: (e) => `${e.actorName} (${e.actorKind} ${e.actorId})` },
            { header: 'ACTION', value: (e) => e.action },
            { header: 'TARGET', value: (e) => `${e.targetType} ${e.targetId}` },
            { header: 'ORG', value: (e) => e.orgId ?? '(shared pool)' },
            { header: 'FROM', value: (e) => e.ip },
            { header: 'DETAILS', value: (e) => (Object.keys(e.details).length ? JSON.stringify(e.details) : '') },
          ],
          out.c,
        );
        // Later pages print their rows without repeating the header.
        out.info(first ? table : table.split('\n').slice(1).join('\n'));
        first = false;
      }
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    if (out.json) process.stdout.write(`${first ? '' : '\n'}] }\n`);
    else if (first) out.info('No audit entries.');
  },
);
