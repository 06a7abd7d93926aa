/**
 * soak_builds_failed_by_faults, soak_lost, soak_recovery_p50_s: the long chaos soak
 * (test/support/chaos.ts) with a fixed seed — 150 builds, 12 faults (controller kill -9 and
 * SIGSTOP, worker kill -9 and SIGTERM), 3 workers. Recovery: seconds from a fault's end
 * (controller answering again, resumed, worker restarted) to the next claim.
 * soak_pg_*: the same on two PostgreSQL replicas behind nginx (15 faults: replica kill -9 and
 * SIGSTOP, PostgreSQL restarts, worker kill -9 and SIGTERM); needs PostgreSQL 15's binaries and nginx.
 */
import { Cleanups, formatChaos, LONG_PG_SOAK, LONG_SOAK, runChaos } from '../test/support/chaos.js';
import { median } from './support/measure.js';

export const SOAK_SEED = 19;

export async function benchSoak(durationMs = 480_000): Promise<Record<string, number>> {
  const cleanups = new Cleanups();
  try {
    const result = await runChaos({ ...LONG_SOAK, seed: SOAK_SEED, durationMs, log: (line) => process.stderr.write(`  ${line}\n`) }, cleanups);
    process.stderr.write(formatChaos(result).replace(/^/gm, '  ') + '\n');
    return {
      soak_builds_failed_by_faults: result.failedByFaults,
      soak_lost: result.lost,
      soak_recovery_p50_s: median(result.recoverySeconds),
      soak_extra_attempts: result.extraAttempts,
      soak_5xx: result.fiveHundreds,
    };
  } finally {
    await cleanups.run();
  }
}

export async function benchSoakPostgres(durationMs = 480_000): Promise<Record<string, number>> {
  const cleanups = new Cleanups();
  try {
    const result = await runChaos({ ...LONG_PG_SOAK, seed: SOAK_SEED, durationMs, log: (line) => process.stderr.write(`  ${line}\n`) }, cleanups);
    process.stderr.write(formatChaos(result).replace(/^/gm, '  ') + '\n');
    return {
      soak_pg_builds_failed_by_faults: result.failedByFaults,
      soak_pg_lost: result.lost,
      soak_pg_recovery_p50_s: median(result.recoverySeconds),
      soak_pg_extra_attempts: result.extraAttempts,
      soak_pg_5xx: result.fiveHundreds,
    };
  } finally {
    await cleanups.run();
  }
}
