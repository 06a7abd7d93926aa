/**
 * Facts about the Expo project in a directory that the CLI needs before anything is uploaded:
 * its name on the controller, the platforms it targets, and its git state.
 */
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Platform } from '@buildmesh/protocol';
import { CliError } from './output.js';

const execFileAsync = promisify(execFile);

/** The controller's Name pattern: lower-case letters, digits, `.`, `_`, `-`; up to 64, starting alphanumeric. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export async function resolveProjectDir(dir: string | undefined): Promise<string> {
  const abs = resolve(dir ?? '.');
  const s = await stat(abs).catch(() => null);
  if (!s?.isDirectory()) throw new CliError('PROJECT_DIR_NOT_FOUND', `no such directory: ${abs}`, 'give the path of your Expo project');
  return abs;
}

async function readJson(path: string): Promise<Record<string, unknown> | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : null;
  } catch {
    throw new CliError('PROJECT_FILE_INVALID', `${path} is not valid JSON`, 'fix the file and retry');
  }
}

/** The `expo` section of app.json / app.config.json (app.json may also be the section itself). */
async function readExpoConfig(projectDir: string): Promise<Record<string, unknown> | null> {
  for (const file of ['app.json', 'app.config.json']) {
    const json = await readJson(join(projectDir, file));
    if (json) return (json.expo && typeof json.expo === 'object' ? json.expo : json) as Record<string, unknown>;
  }
  return null;
}

/**
 * A dynamic app.config.js/ts is code we will not run to learn a name; a literal `slug: '…'` in it
 * is read, anything cleverer needs --project.
 */
async function slugFromDynamicConfig(projectDir: string): Promise<string | null> {
  for (const file of ['app.config.ts', 'app.config.js', 'app.config.mjs', 'app.config.cjs']) {
    const text = await readFile(join(projectDir, file), 'utf8').catch(() => null);
    const match = text?.match(/\bslug\s*:\s*['"`]([^'"`]+)['"`]/);
    if (match) return match[1]!;
  }
  return null;
}

/** Lower-cases and replaces everything outside the Name pattern; null when nothing usable is left. */
export function sanitizeName(raw: string): string | null {
  const withoutScope = raw.replace(/^@[^/]+\//, '');
  const name = withoutScope
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 64)
    .replace(/[-.]+$/, '');
  return NAME_PATTERN.test(name) ? name : null;
}

/** The project's name on the controller: --project, else expo.slug, else package.json name. */
export async function detectProjectName(projectDir: string, explicit?: string): Promise<string> {
  if (explicit !== undefined) {
    if (!NAME_PATTERN.test(explicit)) {
      throw new CliError('INVALID_PROJECT_NAME', `"${explicit}" is not a valid project name`, 'use lower-case letters, digits, . _ - (up to 64)');
    }
    return explicit;
  }
  const expo = await readExpoConfig(projectDir);
  const pkg = await readJson(join(projectDir, 'package.json'));
  const candidates = [
    typeof expo?.slug === 'string' ? expo.slug : null,
    await slugFromDynamicConfig(projectDir),
    typeof pkg?.name === 'string' ? pkg.name : null,
  ];
  for (const candidate of candidates) {
    const name = candidate ? sanitizeName(candidate) : null;
    if (name) return name;
  }
  throw new CliError(
    'PROJECT_NAME_UNKNOWN',
    `cannot tell the project's name in ${projectDir} (no expo.slug in app.json, no name in package.json)`,
    'pass --project NAME',
  );
}

/**
 * The platforms the project targets: expo.platforms when set; else Android and iOS (Expo's
 * default), plus web when the project depends on react-native-web or configures `expo.web`.
 */
export async function detectPlatforms(projectDir: string): Promise<Platform[]> {
  const expo = await readExpoConfig(projectDir);
  const declared = Array.isArray(expo?.platforms) ? (expo.platforms as unknown[]) : null;
  if (declared) return (['android', 'ios', 'web'] as const).filter((p) => declared.includes(p));
  const pkg = await readJson(join(projectDir, 'package.json'));
  const deps = { ...(pkg?.dependencies as object | undefined), ...(pkg?.devDependencies as object | undefined) };
  const web = 'react-native-web' in deps || (expo !== null && typeof expo.web === 'object');
  return web ? ['android', 'ios', 'web'] : ['android', 'ios'];
}

/** The product name Expo's prebuild gives the iOS target (expo.name without non-alphanumerics). */
export async function detectIosTargetName(projectDir: string): Promise<string | null> {
  const expo = await readExpoConfig(projectDir);
  const name = typeof expo?.name === 'string' ? expo.name.replace(/[^A-Za-z0-9]/g, '') : '';
  return name || null;
}

export interface GitState {
  /** False when the directory is not in a git work tree (or git is missing). */
  repository: boolean;
  commit: string | null;
  branch: string | null;
  /** Paths with uncommitted changes (as `git status --porcelain` lists them). */
  changes: number;
}

export async function gitState(projectDir: string): Promise<GitState> {
  const git = async (...args: string[]) => (await execFileAsync('git', args, { cwd: projectDir })).stdout.trim();
  try {
    await git('rev-parse', '--is-inside-work-tree');
  } catch {
    return { repository: false, commit: null, branch: null, changes: 0 };
  }
  const commit = await git('rev-parse', 'HEAD').catch(() => null); // null in a repository without commits
  const branch = await git('rev-parse', '--abbrev-ref', 'HEAD').catch(() => null);
  const status = await git('status', '--porcelain', '--', '.').catch(() => '');
  return {
    repository: true,
    commit: commit && /^[0-9a-f]{7,64}$/.test(commit) ? commit : null,
    branch: branch && branch !== 'HEAD' ? branch : null,
    changes: status ? status.split('\n').length : 0,
  };
}
