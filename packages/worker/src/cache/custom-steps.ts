/**
 * `eas/restore_cache` and `eas/save_cache` of custom builds, with actions/cache's shape as EAS has
 * it: `key` (exact), `restore_keys` (key prefixes, tried in order, the most recent match of each),
 * `path` (one path or several, one a line: relative to the project, or `~/…`). Entries are the same
 * per-org entries the pipelines' RESTORE_CACHE / SAVE_CACHE use (kind `custom`, keys namespaced so
 * that they never meet the pipelines' own), with the same rules: moved, never through a symlink,
 * size limit and LRU eviction.
 */
import { BuildFailure } from '../runner/build-failure.js';
import { safePath } from './phases.js';
import { formatBytes, type CacheStore } from './store.js';

export interface CustomCacheCall {
  store: CacheStore | undefined;
  orgId: string | undefined;
  projectDir: string;
  homeDir: string;
  inputs: Record<string, unknown>;
  log(text: string): void;
}

const KEY_PREFIX = 'custom|';

function stringList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string').map((v) => v.trim()).filter(Boolean);
  if (typeof value === 'string') return value.split('\n').map((v) => v.trim()).filter(Boolean);
  return [];
}

function parse(call: CustomCacheCall): { key: string; paths: string[]; restoreKeys: string[] } | undefined {
  const key = typeof call.inputs.key === 'string' ? call.inputs.key.trim() : '';
  const paths = stringList(call.inputs.path);
  if (!key || key.length > 512) throw new BuildFailure('CUSTOM_CONFIG_INVALID', 'the cache step needs a `key` (at most 512 characters)');
  if (!paths.length) throw new BuildFailure('CUSTOM_CONFIG_INVALID', 'the cache step needs a `path` (one or more paths, one a line)');
  if (!call.store || !call.orgId) {
    call.log(`Skipped: ${call.store ? "the controller did not say which org the build belongs to" : 'this worker keeps no cache'}.`);
    return undefined;
  }
  return { key, paths, restoreKeys: stringList(call.inputs.restore_keys) };
}

export async function restoreCustomCache(call: CustomCacheCall): Promise<void> {
  const parsed = parse(call);
  if (!parsed) return;
  const roots = { projectDir: call.projectDir, homeDir: call.homeDir };
  const targets = new Map<string, string>();
  for (const label of parsed.paths) {
    const target = await safePath(roots, label, true);
    if (target) targets.set(label, target);
    else call.log(`${label} is not a plain path inside the project or home directory; not restored.`);
  }
  const full = (k: string): string => `${KEY_PREFIX}${k}`;
  // restore_keys: each prefix in turn; the store takes the most recent entry a prefix accepts.
  let hit = await call.store!.checkout(call.orgId!, full(parsed.key), () => false, (label) => targets.get(label));
  for (const prefix of parsed.restoreKeys) {
    if (hit) break;
    hit = await call.store!.checkout(call.orgId!, null, (e) => e.kind === 'custom' && e.key.startsWith(full(prefix)), (label) => targets.get(label));
  }
  if (!hit) return call.log(`Cache miss for key ${parsed.key}${parsed.restoreKeys.length ? ` and restore keys ${parsed.restoreKeys.join(', ')}` : ''}.`);
  const restoredKey = hit.meta.key.slice(KEY_PREFIX.length);
  call.log(`${restoredKey === parsed.key ? 'Cache hit' : `Cache miss for key ${parsed.key}; restored ${restoredKey}`} (${hit.meta.paths.join(', ')}: ${formatBytes(hit.meta.sizeBytes)}).`);
}

export async function saveCustomCache(call: CustomCacheCall): Promise<void> {
  const parsed = parse(call);
  if (!parsed) return;
  const roots = { projectDir: call.projectDir, homeDir: call.homeDir };
  const sources: { label: string; dir: string }[] = [];
  for (const label of parsed.paths) {
    const dir = await safePath(roots, label, false);
    if (dir) sources.push({ label, dir });
    else call.log(`${label} is not a plain path inside the project or home directory; not saved.`);
  }
  const saved = await call.store!.save(call.orgId!, { kind: 'custom', key: `${KEY_PREFIX}${parsed.key}`, prefix: `${KEY_PREFIX}${parsed.key}` }, sources);
  if (saved) call.log(`Saved ${saved.paths.join(', ')} (${formatBytes(saved.sizeBytes)}) under key ${parsed.key}.`);
  else call.log(`Nothing to save at ${parsed.paths.join(', ')}.`);
}
