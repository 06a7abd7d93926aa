/**
 * `npm run soak -- [--store sqlite|postgres] [--seed N] [--duration 10m] [--builds 150] [--faults 12] [--short]`:
 * the long chaos soak (test/support/chaos.ts) against real processes on this machine — one
 * controller on SQLite (default), or with `--store postgres` two replicas behind nginx on a
 * private PostgreSQL instance, with replica kills and PostgreSQL restarts. Prints the fault
 * timeline as it happens, then the totals; exits 1 when an acknowledged build was lost, failed,
 * took an unexplained attempt, or a 5xx was seen (the processes' output is kept for that case).
 */
import { parseArgs } from 'node:util';
import { Cleanups, formatChaos, LONG_PG_SOAK, LONG_SOAK, runChaos, SHORT_PG_SOAK, SHORT_SOAK } from '../test/support/chaos.js';

function duration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`--duration: "${text}" is not a duration (e.g. 600s, 10m)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    duration: { type: 'string' },
    builds: { type: 'string' },
    faults: { type: 'string' },
    short: { type: 'boolean', default: false },
    store: { type: 'string', default: 'sqlite' },
  },
});
if (values.store !== 'sqlite' && values.store !== 'postgres') throw new Error('--store must be sqlite or postgres');
const postgres = values.store === 'postgres';
const base = postgres ? (values.short ? SHORT_PG_SOAK : LONG_PG_SOAK) : values.short ? SHORT_SOAK : LONG_SOAK;
const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
if (!Number.isInteger(seed)) throw new Error('--seed must be an integer');
const options = {
  ...base,
  seed,
  ...(values.duration ? { durationMs: duration(values.duration) } : {}),
  ...(values.builds ? { builds: Number(values.builds) } : {}),
  ...(values.faults ? { faults: Number(values.faults) } : {}),
  log: (line: string) => console.log(line),
};
console.log(`soak: ${postgres ? 'PostgreSQL, two replicas behind nginx' : 'SQLite'}, seed ${seed}, ${options.builds} builds, ${options.faults} faults over ${options.durationMs / 1000} s, ${options.workers} workers`);
const cleanups = new Cleanups();
let failed = true;
try {
  const result = await runChaos(options, cleanups);
  console.log(formatChaos(result));
  failed = result.violations.length > 0;
} finally {
  await cleanups.run();
}
process.exit(failed ? 1 : 0);
