/**
 * A build's required labels as one short key, so the queue index can hold them:
 * builds with the same label set share a key and a queue lane. No labels → ''.
 */
import { createHash } from 'node:crypto';

export function labelKey(labels: Record<string, string>): string {
  const entries = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return '';
  return createHash('sha256').update(JSON.stringify(entries)).digest('hex').slice(0, 32);
}
