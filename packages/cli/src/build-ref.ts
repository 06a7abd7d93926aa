/**
 * Build references as eas-cli takes them: a full id, `latest` (the org's newest build), or a unique
 * prefix of an id (`bld_01jb7x`, or without `bld_`, at least 4 characters), resolved through the
 * list API over the newest 1,000 builds. An ambiguous prefix is refused with the candidates.
 */
import { InvalidArgumentError } from 'commander';
import type { BuildMeshClient } from '@buildmesh/protocol';
import { CliError } from './output.js';

const FULL_ID = /^bld_[0-9a-z]{26}$/;
const PAGE = 200;
const MAX_SCANNED = 1000;

/** Commander parser: checks the form only (no request): a full id, `latest`, or a prefix. */
export function checkBuildRef(ref: string): string {
  if (ref === 'latest' || FULL_ID.test(ref)) return ref;
  const suffix = ref.startsWith('bld_') ? ref.slice(4) : ref;
  if (/^[0-9a-z]{4,25}$/.test(suffix)) return ref;
  throw new InvalidArgumentError(`"${ref}" is not a build id, a unique prefix of one (4+ characters), or "latest"`);
}

/** The full build id a reference names. */
export async function resolveBuildRef(client: BuildMeshClient, ref: string): Promise<string> {
  if (FULL_ID.test(ref)) return ref;
  if (ref === 'latest') {
    const { builds } = await client.listBuilds({ limit: 1 });
    if (!builds[0]) throw new CliError('NO_BUILDS', 'there is no build yet, so no "latest"', 'submit one with `buildmesh build`');
    return builds[0].id;
  }
  const prefix = ref.startsWith('bld_') ? ref : `bld_${ref}`;
  const matches: string[] = [];
  let cursor: string | undefined;
  for (let scanned = 0; scanned < MAX_SCANNED; scanned += PAGE) {
    const page = await client.listBuilds({ limit: PAGE, ...(cursor ? { cursor } : {}) });
    matches.push(...page.builds.filter((b) => b.id.startsWith(prefix)).map((b) => b.id));
    if (matches.length > 1 || !page.nextCursor) break;
    cursor = page.nextCursor;
  }
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new CliError('NOT_FOUND', `no build id starts with ${prefix} (among the newest ${MAX_SCANNED})`, 'check the id; `buildmesh list` shows your builds');
  throw new CliError('AMBIGUOUS_ID', `${prefix} matches several builds: ${matches.slice(0, 5).join(', ')}${matches.length > 5 ? ', …' : ''}`, 'give more characters of the id');
}
