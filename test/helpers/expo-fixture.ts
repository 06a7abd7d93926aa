/** The real Expo SDK 57 blank app (prepared from the npm registry into .cache/ once) and its packing as the CLI does it. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { listProjectFiles } from '../../packages/cli/src/pack/file-list.js';
import { packProject } from '../../packages/cli/src/pack/pack.js';
import { REPO_ROOT } from './processes.js';

export const EXPO_APP = join(REPO_ROOT, '.cache/expo-blank-57');

/**
 * Prepares the app once, and makes it its own git repository as create-expo-app
 * does: inside this checkout's ignored .cache/ the packer would otherwise
 * (rightly) find every file ignored.
 */
export function prepareExpoApp(): string {
  // The script reuses a complete copy resolved at its pinned registry date, and rebuilds any other.
  execFileSync(process.execPath, [join(REPO_ROOT, 'scripts/prepare-expo-fixture.mjs')], { stdio: 'inherit', timeout: 15 * 60_000 });
  if (!existsSync(join(EXPO_APP, '.git'))) {
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.email=fixture@buildmesh.invalid', '-c', 'user.name=fixture', ...args], { cwd: EXPO_APP, stdio: 'ignore' });
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'expo-template-blank@57');
  }
  return EXPO_APP;
}

/** The project exactly as `buildmesh build` uploads it (git/ignore rules, never node_modules). */
export async function packLikeTheCli(projectDir: string): Promise<Readable> {
  return packProject(projectDir, await listProjectFiles(projectDir));
}
