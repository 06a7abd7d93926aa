/**
 * The profile's custom build config, validated on this machine with the same code the worker runs
 * (@buildmesh/protocol/custom-config): `build` refuses an unsupported step before any upload, once,
 * naming the step and the reason; `doctor` reports the same.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResolvedProfile } from '@buildmesh/protocol';
import { customConfigRelativePath, CustomConfigError, MAX_CONFIG_BYTES, parseCustomConfig } from '@buildmesh/protocol/custom-config';
import { CliError } from './output.js';

/** Throws CUSTOM_CONFIG_INVALID (or CUSTOM_FUNCTION_UNSUPPORTED) when the profile's config would be refused by a worker. */
export async function checkCustomConfig(projectDir: string, profile: Pick<ResolvedProfile, 'config' | 'name'>): Promise<void> {
  if (!profile.config) return;
  try {
    const relPath = customConfigRelativePath(profile.config);
    const file = join(projectDir, relPath);
    const size = (await stat(file).catch(() => null))?.size;
    if (size === undefined) throw new CustomConfigError(relPath, ['does not exist in the project']);
    if (size > MAX_CONFIG_BYTES) throw new CustomConfigError(relPath, [`is larger than ${MAX_CONFIG_BYTES} bytes`]);
    parseCustomConfig(await readFile(file, 'utf8'), relPath);
  } catch (err) {
    if (!(err instanceof CustomConfigError)) throw err;
    throw new CliError(
      err.code,
      `profile "${profile.name}": ${err.message}; nothing was uploaded`,
      err.code === 'CUSTOM_FUNCTION_UNSUPPORTED'
        ? "the README's compatibility table lists the built-in functions BuildMesh runs; replace the others with `run` steps doing the same"
        : 'the README (Custom builds) describes the supported steps, functions and expressions',
    );
  }
}
