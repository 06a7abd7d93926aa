/**
 * `npm run bench`: runs every benchmark against real processes, prints one table
 * and writes the same figures to bench-results.json at the repo root.
 * `npm run bench -- dispatch submit` runs only the named ones.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './support/processes.js';
import { median, repeat } from './support/measure.js';
import { benchDispatch } from './dispatch.js';
import { benchSubmit } from './submit.js';
import { benchClaimFinish } from './claim-finish.js';
import { benchTransfer } from './transfer.js';
import { benchS3Transfer } from './s3-transfer.js';
import { benchIdleWorkers } from './idle-workers.js';
import { benchPack } from './pack.js';
import { benchLogs } from './logs.js';
import { benchWorkerOverhead } from './worker-overhead.js';
import { benchExpoWeb } from './expo-web.js';
import { benchExpoWebWarm, benchNodeSwitch } from './warm-builds.js';
import { benchQueueScale } from './queue-scale.js';
import { benchLogScale } from './log-scale.js';
import { benchFastStart } from './fast-start.js';
import { benchSoak, benchSoakPostgres } from './soak.js';
import { benchDashboard } from './dashboard.js';
import { benchPgClaimFinish, benchPgReplicas, benchPgSubmit } from './pg-replicas.js';
import { benchWebhookDelivery } from './webhook-delivery.js';
import { benchWebhookClaim } from './webhook-claim.js';
import { benchOidcExchange } from './oidc-exchange.js';
import { benchProvenanceSign } from './provenance-sign.js';
import { benchFairShare } from './fair-share.js';

type Figures = Record<string, number>;

/**
 * Each benchmark with its run count (figures are the median over runs) and the targets from the issues.
 * `run` gets the run's index (0 first), for benchmarks that warm something up once.
 */
const BENCHMARKS: Array<{ name: string; runs: number; run: (i: number) => Promise<Figures>; targets: Record<string, string> }> = [
  { name: 'dispatch', runs: 3, run: () => benchDispatch(), targets: { dispatch_p50_ms: '≤ 5', dispatch_p99_ms: '≤ 20' } },
  { name: 'submit', runs: 3, run: () => benchSubmit(), targets: { submit_seq_per_s: '≥ 2000', submit_c20_per_s: '≥ 2000', submit_multipart_seq_per_s: '', resubmit_upload_bytes: '= 0' } },
  { name: 'claim-finish', runs: 3, run: () => benchClaimFinish(), targets: { claim_finish_per_s: '≥ 1000', double_assignments: '= 0' } },
  { name: 'provenance-sign', runs: 3, run: () => Promise.resolve(benchProvenanceSign()), targets: { provenance_sign_ms: '≤ 5' } },
  { name: 'oidc-exchange', runs: 3, run: () => benchOidcExchange(), targets: { oidc_exchange_p50_ms: '≤ 20', oidc_exchange_p99_ms: '', oidc_jwks_fetches: '= 1' } },
  { name: 'webhook-delivery', runs: 3, run: () => benchWebhookDelivery(), targets: { webhook_delivery_p50_ms: '≤ 100', webhook_delivery_p99_ms: '' } },
  { name: 'webhook-claim', runs: 3, run: () => benchWebhookClaim(), targets: { webhook_claim_20k_waiting_ms: '', webhook_claim_200_waiting_ms: '', webhook_claim_20k_vs_200: '≤ 1.5' } },
  {
    name: 'fair-share',
    runs: 1,
    run: () => benchFairShare(),
    targets: { fair_share_wait_s: '≤ 1', claim_finish_fair_per_s: '', claim_finish_unfair_per_s: '', fair_claim_finish_ratio: '≥ 0.9' },
  },
  {
    name: 'transfer',
    runs: 3,
    run: () => benchTransfer(),
    targets: { upload_2g_rss_growth_mb: '< 64', download_2g_rss_growth_mb: '< 64', upload_vs_loopback: '≥ 0.8', download_vs_loopback: '≥ 0.8', loopback_mb_per_s: '' },
  },
  { name: 's3-transfer', runs: 1, run: () => benchS3Transfer(), targets: { s3_upload_vs_direct: '≥ 0.9', s3_direct_mb_per_s: '', s3_presigned_mb_per_s: '' } },
  { name: 'pack', runs: 3, run: () => benchPack(), targets: { pack_vs_tar: '≤ 1.2', pack_expo_ms: '', tar_expo_ms: '', pack_list_expo_ms: '', pack_rss_mb: '< 100' } },
  { name: 'idle-workers', runs: 1, run: () => benchIdleWorkers(), targets: { idle_workers_10k_rss_mb: '< 512', idle_workers_10k_cpu_pct: '< 10' } },
  {
    name: 'queue-scale',
    runs: 1,
    run: () => benchQueueScale(),
    targets: {
      dispatch_100k_unmatched_p50_ms: '≤ 2',
      dispatch_label_backlog_p50_ms: '≤ 2',
      queue_info_100k_ms: '≤ 5',
      list_filtered_100k_ms: '≤ 5',
      dispatch_with_20_waiting_clis_p99_ms: '≤ 20',
    },
  },
  { name: 'log-scale', runs: 1, run: () => benchLogScale(), targets: { log_read_1m_rss_mb: '< 64', log_tail_1m_ms: '≤ 20' } },
  { name: 'logs', runs: 3, run: () => benchLogs(), targets: { log_lines_per_s: '≥ 100000', log_store_lag_ms: '', log_follow_p50_ms: '≤ 100', log_follow_p99_ms: '' } },
  { name: 'worker-overhead', runs: 1, run: () => benchWorkerOverhead(10), targets: { worker_overhead_ms: '≤ 50 + unpack', worker_overhead_first_ms: '', worker_unpack_ms: '' } },
  {
    name: 'fast-start',
    runs: 1,
    run: () => benchFastStart(),
    targets: { cli_version_ms: '', node_bare_ms: '', cli_start_overhead: '≤ 1.5', cli_status_ms: '', controller_ready_ms: '≤ 300' },
  },
  {
    name: 'pg-replicas',
    runs: 1,
    run: () => benchPgReplicas(),
    targets: {
      pg_dispatch_p50_ms: '≤ 10',
      pg_dispatch_p99_ms: '≤ 50',
      pg_submit_c20_per_s: '≥ 1000',
      pg_submit_multipart_c20_per_s: '',
      pg_claim_finish_per_s: '≥ 1000',
      pg_double_assignments: '= 0',
      replica_failover_s: '≤ 5',
    },
  },
  // The two throughput halves of pg-replicas on their own (each starts its own replica set), for profiling runs.
  { name: 'pg-submit', runs: 3, run: () => benchPgSubmit(), targets: { pg_submit_c20_per_s: '≥ 1000', pg_submit_multipart_c20_per_s: '' } },
  { name: 'pg-claim-finish', runs: 3, run: () => benchPgClaimFinish(), targets: { pg_claim_finish_per_s: '≥ 1000', pg_double_assignments: '= 0' } },
  {
    name: 'dashboard',
    runs: 1,
    run: () => benchDashboard(),
    targets: {
      dashboard_js_gzip_kb: '≤ 200',
      dashboard_builds_1k_ms: '≤ 1000',
      dashboard_builds_1k_fcp_ms: '',
      dashboard_log_500k_ms: '≤ 2000',
      dashboard_log_500k_fetch_ms: '',
      dashboard_log_500k_inflight_ms: '',
      dashboard_log_500k_heap_mb: '≤ 300',
      dashboard_live_lag_ms: '≤ 250',
      dashboard_live_lag_max_ms: '',
    },
  },
  {
    name: 'soak',
    runs: 1,
    run: () => benchSoak(),
    targets: { soak_builds_failed_by_faults: '= 0', soak_lost: '= 0', soak_recovery_p50_s: '', soak_extra_attempts: '', soak_5xx: '= 0' },
  },
  {
    name: 'soak-pg',
    runs: 1,
    run: () => benchSoakPostgres(),
    targets: { soak_pg_builds_failed_by_faults: '= 0', soak_pg_lost: '= 0', soak_pg_recovery_p50_s: '', soak_pg_extra_attempts: '', soak_pg_5xx: '= 0' },
  },
  {
    name: 'expo-web',
    runs: 3,
    run: (i) => benchExpoWeb({ warmUp: i === 0, directFirst: i % 2 === 1 }),
    targets: {
      expo_web_build_s: '',
      expo_web_direct_s: '',
      expo_web_overhead_ratio: '≤ 1.10',
      expo_web_build_install_s: '',
      expo_web_direct_install_s: '',
      expo_web_build_export_s: '',
      expo_web_direct_export_s: '',
    },
  },
  {
    name: 'expo-web-warm',
    runs: 1,
    run: () => benchExpoWebWarm(),
    targets: {
      expo_web_cold_s: '',
      expo_web_warm_s: '',
      expo_web_warm_ratio: '≤ 0.5',
      expo_web_direct_warm_s: '',
      expo_web_warm_vs_direct: '≤ 1.1',
      expo_web_cold_install_s: '',
      expo_web_warm_install_s: '',
      expo_web_direct_warm_install_s: '',
    },
  },
  { name: 'node-switch', runs: 3, run: () => benchNodeSwitch(), targets: { node_switch_first_s: '', node_switch_cached_s: '≤ 1' } },
];

// Benchmarks that run the CLI measure the bundle: rebuild it first if a source is newer.
execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs'), '--if-stale'], { stdio: 'inherit' });
// …and the dashboard the dashboard benchmark loads.
execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-dashboard.mjs'), '--if-stale'], { stdio: 'inherit' });

const only = process.argv.slice(2);
const unknown = only.filter((name) => !BENCHMARKS.some((b) => b.name === name));
if (unknown.length) {
  console.error(`unknown benchmark ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
  process.exit(2);
}
const results: Record<string, { value: number; target: string; runs: number[] }> = {};
const failed: string[] = [];
for (const bench of BENCHMARKS) {
  if (only.length && !only.includes(bench.name)) continue;
  process.stderr.write(`running ${bench.name} (${bench.runs} run${bench.runs > 1 ? 's' : ''})…\n`);
  let runs: Figures[];
  try {
    runs = await repeat(bench.runs, (i) => bench.run(i));
  } catch (err) {
    // One broken benchmark must not lose the others' figures: report it and go on.
    failed.push(bench.name);
    process.stderr.write(`  ${bench.name} failed: ${(err as Error).stack ?? String(err)}\n`);
    continue;
  }
  for (const key of Object.keys(runs[0]!)) {
    const values = runs.map((r) => r[key]!);
    results[key] = { value: median(values), target: bench.targets[key] ?? '', runs: values };
    process.stderr.write(`  ${key}: ${formatNumber(results[key].value)}\n`);
  }
}

const rows = Object.entries(results).map(([key, r]) => [key, formatNumber(r.value), r.target, r.runs.map(formatNumber).join(', ')]);
const header = ['figure', 'median', 'target', 'runs'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
console.log(line(header));
console.log(widths.map((w) => '─'.repeat(w)).join('  '));
for (const row of rows) console.log(line(row));

// A run of some benchmarks updates their figures and keeps the others' from earlier runs.
const resultsFile = join(ROOT, 'bench-results.json');
const previous = existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as Figures) : {};
const figures = { ...previous, ...Object.fromEntries(Object.entries(results).map(([k, r]) => [k, r.value])) };
writeFileSync(resultsFile, JSON.stringify(figures, null, 2) + '\n');
if (failed.length) {
  console.error(`failed: ${failed.join(', ')}`);
  process.exitCode = 1;
}

function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toFixed(3);
}
