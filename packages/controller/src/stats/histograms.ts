/**
 * Duration histograms for /metrics (queue wait, build duration, phase duration, by platform),
 * kept in the store: the finish transaction increments one bucket row per observation
 * (queries/build-stats.ts), and each scrape renders the cumulative buckets from those rows. So the
 * counts are monotonic, identical on every replica, survive restarts, and cost a read of a few
 * hundred rows per scrape — unlike prom-client histograms, which each replica would fill only with
 * the finishes it happened to serve, and which restart at zero.
 */
import { PLATFORMS } from '@buildmesh/protocol';

/** Upper bounds in seconds (+Inf implied). */
export const DURATION_BUCKETS_S = [1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200] as const;

export type DurationMetric = 'queue_wait' | 'build_duration' | 'phase_duration';

export const METRICS: Record<DurationMetric, { name: string; help: string }> = {
  queue_wait: { name: 'buildmesh_queue_wait_seconds', help: 'Time from submit to the first start of builds that ended, by platform.' },
  build_duration: { name: 'buildmesh_build_duration_seconds', help: 'Run time (first start to end) of builds that succeeded or failed, by platform.' },
  phase_duration: { name: 'buildmesh_phase_duration_seconds', help: 'Duration of the build phases workers report, by platform and phase.' },
};

/** Phases named by the built-in pipelines; any other name (custom builds, hostile input) is counted as OTHER. */
const KNOWN_PHASES = new Set([
  'PREPARE_PROJECT',
  'READ_PACKAGE_JSON',
  'READ_EAS_JSON',
  'PREPARE_NPMRC',
  'PREPARE_SECRET_FILES',
  'PREPARE_CREDENTIALS',
  'INSTALL_DEPENDENCIES',
  'PREBUILD',
  'FIX_GRADLEW',
  'RUN_GRADLEW',
  'INSTALL_PODS',
  'CONFIGURE_XCODE_PROJECT',
  'RUN_FASTLANE',
  'EXPORT_WEB',
  'CLEAN_UP_CREDENTIALS',
  'REMOVE_SECRET_FILES',
  'UPLOAD_APPLICATION_ARCHIVE',
  'UPLOAD_BUILD_ARTIFACTS',
  'CUSTOM',
]);
export const phaseLabel = (name: string): string => (KNOWN_PHASES.has(name) ? name : 'OTHER');

export const bucketOf = (ms: number): number => {
  const i = DURATION_BUCKETS_S.findIndex((b) => ms <= b * 1000);
  return i === -1 ? DURATION_BUCKETS_S.length : i;
};

export interface BucketRow {
  metric: string;
  platform: string;
  label: string;
  bucket: number;
  n: number;
  totalMs: number;
}

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"');

/** Prometheus text for the three histograms (every platform present, even at zero). */
export function renderHistograms(rows: BucketRow[]): string {
  const out: string[] = [];
  for (const [metric, { name, help }] of Object.entries(METRICS) as Array<[DurationMetric, { name: string; help: string }]>) {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
    const series = new Map<string, { platform: string; label: string; counts: number[]; totalMs: number }>();
    for (const p of PLATFORMS) if (metric !== 'phase_duration') series.set(`${p}\u0000`, { platform: p, label: '', counts: new Array(DURATION_BUCKETS_S.length + 1).fill(0), totalMs: 0 });
    for (const r of rows) {
      if (r.metric !== metric) continue;
      const key = `${r.platform}\u0000${r.label}`;
      let s = series.get(key);
      if (!s) series.set(key, (s = { platform: r.platform, label: r.label, counts: new Array(DURATION_BUCKETS_S.length + 1).fill(0), totalMs: 0 }));
      s.counts[Math.min(r.bucket, DURATION_BUCKETS_S.length)]! += r.n;
      s.totalMs += r.totalMs;
    }
    for (const s of series.values()) {
      const labels = `platform="${escape(s.platform)}"${metric === 'phase_duration' ? `,phase="${escape(s.label)}"` : ''}`;
      let cumulative = 0;
      DURATION_BUCKETS_S.forEach((b, i) => {
        cumulative += s.counts[i]!;
        out.push(`${name}_bucket{${labels},le="${b}"} ${cumulative}`);
      });
      cumulative += s.counts[DURATION_BUCKETS_S.length]!;
      out.push(`${name}_bucket{${labels},le="+Inf"} ${cumulative}`, `${name}_sum{${labels}} ${s.totalMs / 1000}`, `${name}_count{${labels}} ${cumulative}`);
    }
  }
  return out.join('\n') + '\n';
}
