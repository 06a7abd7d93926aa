/**
 * A profile's custom build config on the worker: reads `.eas/build/<name>` from the unpacked project
 * (inside it, a regular file, at most 1 MiB) and turns its steps into the plan, one phase per step.
 * The format and its validation live in @buildmesh/protocol/custom-config, shared with the CLI.
 */
import { open, realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  customConfigRelativePath as sharedRelativePath,
  CustomConfigError,
  MAX_CONFIG_BYTES,
  parseCustomConfig as sharedParse,
  type CustomBuildConfig,
} from '@buildmesh/protocol/custom-config';
import { BuildFailure } from './build-failure.js';
import { isInside } from './paths.js';
import type { Phase } from './plan.js';

export { CUSTOM_CONFIG_DIR, type CustomBuildConfig, type CustomStep } from '@buildmesh/protocol/custom-config';

/** The shared validation's refusal as the attempt's error (CUSTOM_CONFIG_INVALID). */
function asBuildFailure<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CustomConfigError) throw new BuildFailure('CUSTOM_CONFIG_INVALID', err.message);
    throw err;
  }
}

export const customConfigRelativePath = (configName: string): string => asBuildFailure(() => sharedRelativePath(configName));

/** Parses and validates the YAML text; throws BuildFailure CUSTOM_CONFIG_INVALID listing every problem. */
export const parseCustomConfig = (text: string, file?: string): CustomBuildConfig => asBuildFailure(() => sharedParse(text, file));

async function readConfigFile(projectDir: string, relPath: string): Promise<string> {
  const absolute = resolve(projectDir, relPath);
  let real: string;
  try {
    real = await realpath(absolute);
  } catch {
    throw new BuildFailure('CUSTOM_CONFIG_INVALID', `${relPath} does not exist in the project`);
  }
  // The file (or .eas/build) may be a symlink: its target must still be inside the project.
  if (!isInside(await realpath(projectDir), real)) throw new BuildFailure('CUSTOM_CONFIG_INVALID', `${relPath} points outside the project`);
  const handle = await open(real, 'r');
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new BuildFailure('CUSTOM_CONFIG_INVALID', `${relPath} is not a regular file`);
    if (stat.size > MAX_CONFIG_BYTES) throw new BuildFailure('CUSTOM_CONFIG_INVALID', `${relPath} is larger than ${MAX_CONFIG_BYTES} bytes`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** One phase per step: name = the step's id or CUSTOM, title = the step's name. */
export function customConfigPhases(config: CustomBuildConfig): Phase[] {
  return config.steps.map((step) => ({
    name: step.id ?? 'CUSTOM',
    title: step.name,
    steps: [
      {
        kind: 'command',
        command: {
          argv: [...step.shell, '-c', step.command],
          ...(step.workingDirectory && step.workingDirectory !== '.' ? { cwd: step.workingDirectory } : {}),
          ...(Object.keys(step.env).length ? { env: step.env } : {}),
        },
      },
    ],
    network: step.network,
    ...(step.timeoutMinutes !== undefined ? { timeoutMs: Math.round(step.timeoutMinutes * 60_000) } : {}),
  }));
}

/** Reads `.eas/build/<configName>` from the project and returns its plan. */
export async function planCustomConfig(projectDir: string, configName: string): Promise<Phase[]> {
  const relPath = customConfigRelativePath(configName);
  const text = await readConfigFile(projectDir, relPath);
  return customConfigPhases(parseCustomConfig(text, relPath));
}
