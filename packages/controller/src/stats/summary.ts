/** GET /v1/stats: an org's ended builds over a window, grouped by platform and profile (nearest-rank percentiles). */
import type { Stats, StatsGroup } from '@buildmesh/protocol';
import type { Store } from '../store/store.js';

/** At most this many builds are read for one answer (the newest); `truncated` says when there were more. */
const MAX_BUILDS = 50_000;

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
const durations = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const s = (v: number | null) => (v === null ? null : Math.round(v) / 1000);
  return { p50Seconds: s(percentile(sorted, 50)), p90Seconds: s(percentile(sorted, 90)) };
};

export async function buildStats(store: Store, orgId: string, hours: number, now = Date.now()): Promise<Stats> {
  const since = new Date(now - hours * 3600_000).toISOString();
  const { builds, phases } = await store.endedBuilds(orgId, since, MAX_BUILDS);
  const groups = new Map<string, { g: StatsGroup; runs: number[]; waits: number[]; phases: Map<string, number[]> }>();
  const groupOf = (platform: string, profile: string) => {
    const key = `${platform}\u0000${profile}`;
    let entry = groups.get(key);
    if (!entry) {
      const g: StatsGroup = {
        platform,
        profile,
        total: 0,
        succeeded: 0,
        failed: 0,
        canceled: 0,
        timedOut: 0,
        successRate: null,
        duration: { p50Seconds: null, p90Seconds: null },
        queueWait: { p50Seconds: null, p90Seconds: null },
        phases: [],
      };
      groups.set(key, (entry = { g, runs: [], waits: [], phases: new Map() }));
    }
    return entry;
  };
  for (const b of builds) {
    const e = groupOf(b.platform, b.profile_name);
    e.g.total++;
    if (b.status === 'succeeded') e.g.succeeded++;
    else if (b.status === 'failed') e.g.failed++;
    else if (b.status === 'canceled') e.g.canceled++;
    else if (b.status === 'timed_out') e.g.timedOut++;
    if (b.started_at) {
      e.waits.push(Date.parse(b.started_at) - Date.parse(b.created_at));
      if ((b.status === 'succeeded' || b.status === 'failed') && b.finished_at) e.runs.push(Date.parse(b.finished_at) - Date.parse(b.started_at));
    }
  }
  for (const p of phases) {
    const e = groupOf(p.platform, p.profile);
    const list = e.phases.get(p.phase) ?? [];
    list.push(p.duration_ms);
    e.phases.set(p.phase, list);
  }
  const out: StatsGroup[] = [];
  for (const { g, runs, waits, phases: byPhase } of groups.values()) {
    const decided = g.succeeded + g.failed + g.timedOut;
    g.successRate = decided === 0 ? null : g.succeeded / decided;
    g.duration = durations(runs);
    g.queueWait = durations(waits);
    g.phases = [...byPhase].map(([name, values]) => {
      const d = durations(values);
      return { name, count: values.length, p50Seconds: d.p50Seconds ?? 0, p90Seconds: d.p90Seconds ?? 0 };
    });
    out.push(g);
  }
  out.sort((a, b) => a.platform.localeCompare(b.platform) || a.profile.localeCompare(b.profile));
  return { since, until: new Date(now).toISOString(), truncated: builds.length === MAX_BUILDS, groups: out };
}
