/**
 * Tests that need a system service (PostgreSQL, nginx, bubblewrap…) skip with a
 * reason on a machine without it, but never under CI (CI installs them: there a
 * missing service must fail the run). Use the result as node:test's `skip` option.
 */
export function skipUnless(available: boolean, reason: string): string | false {
  if (available || process.env.CI) return false;
  return reason;
}
