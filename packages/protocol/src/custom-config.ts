/**
 * EAS-style custom build configs (`.eas/build/<name>.yml`, selected by a profile's `config`): the
 * ONE parser and validator, run by the CLI (`build`, `doctor`: refused before any upload) and by the
 * worker (which turns the steps into phases). Pure: text in, steps or CustomConfigError out.
 *
 *   build:
 *     name: Tests
 *     steps:
 *       - run: npm test                      # a string: the command, run with bash -eo pipefail
 *       - run:
 *           id: bundle                       # phase name (default CUSTOM)
 *           name: Bundle the app             # phase title, heads the step's log section
 *           command: npm run bundle
 *           env: { NODE_ENV: production }
 *           working_directory: packages/app  # inside the project
 *           timeout_minutes: 10
 *           shell: bash -e                   # default: bash -eo pipefail
 *           network: true                    # BuildMesh extension: network inside the sandbox (default off)
 *
 * Function calls (`eas/checkout`, `eas/build`, …), `functions:` and other keys EAS knows but
 * BuildMesh does not run are refused naming them, so a build never silently skips a step its
 * author relies on. Imported as `@buildmesh/protocol/custom-config` (not from the index: only
 * what parses configs pays for the YAML parser).
 */
import { isAbsolute, normalize, relative, resolve } from 'node:path';
import { parse, YAMLParseError } from 'yaml';

/** Is `child` `parent` itself or below it (lexically)? */
function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

export const CUSTOM_CONFIG_DIR = '.eas/build';
export const MAX_CONFIG_BYTES = 1024 * 1024;
const MAX_STEPS = 150;
const DEFAULT_SHELL = ['bash', '-eo', 'pipefail'];
const CONFIG_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/;
const STEP_ID = /^[A-Za-z0-9_-]{1,64}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const RUN_KEYS = new Set(['id', 'name', 'command', 'env', 'working_directory', 'timeout_minutes', 'shell', 'network']);

export interface CustomStep {
  id?: string;
  name: string;
  command: string;
  env: Record<string, string>;
  /** Relative to the project directory, normalised; undefined = the project directory. */
  workingDirectory?: string;
  timeoutMinutes?: number;
  shell: string[];
  network: boolean;
}

export interface CustomBuildConfig {
  name?: string;
  steps: CustomStep[];
}

/** A config the worker would refuse: every problem found, each naming its step and the reason. */
export class CustomConfigError extends Error {
  readonly code = 'CUSTOM_CONFIG_INVALID';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.join('; ')}`);
    this.name = 'CustomConfigError';
  }
}

const invalid = (file: string, problems: string[]): CustomConfigError => new CustomConfigError(file, problems);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `.eas/build/<name>` inside the project, refusing names that could point anywhere else. */
export function customConfigRelativePath(configName: string): string {
  const name = /\.ya?ml$/.test(configName) ? configName : `${configName}.yml`;
  if (!CONFIG_NAME.test(name) || name.split('/').some((part) => part === '..' || part === '.')) {
    throw new CustomConfigError(configName, [`the profile's config "${configName}" is not a plain file name inside ${CUSTOM_CONFIG_DIR}`]);
  }
  return `${CUSTOM_CONFIG_DIR}/${name}`;
}

function parseStep(raw: unknown, index: number, problems: string[]): CustomStep | undefined {
  const where = `step ${index + 1}`;
  if (typeof raw === 'string') {
    problems.push(`${where}: function call "${raw}" is not supported (only \`run\` steps are)`);
    return undefined;
  }
  if (!isRecord(raw)) {
    problems.push(`${where}: must be a mapping with a \`run\` key`);
    return undefined;
  }
  const keys = Object.keys(raw);
  const others = keys.filter((k) => k !== 'run');
  if (!keys.includes('run')) {
    problems.push(`${where}: function call${others.length > 1 ? 's' : ''} ${others.map((k) => `"${k}"`).join(', ')} not supported (only \`run\` steps are)`);
    return undefined;
  }
  if (others.length) {
    problems.push(`${where}: unexpected key${others.length > 1 ? 's' : ''} ${others.map((k) => `"${k}"`).join(', ')} beside \`run\` (put them inside it)`);
    return undefined;
  }
  const run = raw.run;
  if (typeof run === 'string') {
    if (!run.trim()) problems.push(`${where}: \`run\` is empty`);
    return { name: defaultStepName(run), command: run, env: {}, shell: DEFAULT_SHELL, network: false };
  }
  if (!isRecord(run)) {
    problems.push(`${where}: \`run\` must be a command string or a mapping`);
    return undefined;
  }
  const unknown = Object.keys(run).filter((k) => !RUN_KEYS.has(k));
  if (unknown.length) {
    problems.push(`${where}: unsupported key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} (supported: ${[...RUN_KEYS].join(', ')})`);
  }
  const step: CustomStep = { name: '', command: '', env: {}, shell: DEFAULT_SHELL, network: false };
  if (typeof run.command !== 'string' || !run.command.trim()) problems.push(`${where}: \`command\` must be a non-empty string`);
  else step.command = run.command;
  if (run.id !== undefined) {
    if (typeof run.id !== 'string' || !STEP_ID.test(run.id)) problems.push(`${where}: \`id\` must be 1-64 letters, digits, _ or -`);
    else step.id = run.id;
  }
  if (run.name !== undefined && typeof run.name !== 'string') problems.push(`${where}: \`name\` must be a string`);
  step.name = typeof run.name === 'string' && run.name.trim() ? run.name.trim().slice(0, 200) : defaultStepName(step.command);
  if (run.env !== undefined) {
    if (!isRecord(run.env)) problems.push(`${where}: \`env\` must be a mapping`);
    else {
      for (const [key, value] of Object.entries(run.env)) {
        if (!ENV_NAME.test(key)) problems.push(`${where}: env name "${key}" is not valid`);
        else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') step.env[key] = String(value);
        else problems.push(`${where}: env "${key}" must be a string, number or boolean`);
      }
    }
  }
  if (run.working_directory !== undefined) {
    const wd = run.working_directory;
    if (typeof wd !== 'string' || !wd.trim()) problems.push(`${where}: \`working_directory\` must be a non-empty string`);
    else if (isAbsolute(wd) || !isInside('/project', resolve('/project', wd))) {
      problems.push(`${where}: working_directory "${wd}" is outside the project`);
    } else step.workingDirectory = normalize(wd);
  }
  if (run.timeout_minutes !== undefined) {
    const t = run.timeout_minutes;
    if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0 || t > 7 * 24 * 60) problems.push(`${where}: \`timeout_minutes\` must be a positive number of minutes`);
    else step.timeoutMinutes = t;
  }
  if (run.shell !== undefined) {
    const parts = typeof run.shell === 'string' ? run.shell.trim().split(/\s+/).filter(Boolean) : [];
    if (parts.length === 0) problems.push(`${where}: \`shell\` must be a command such as "bash -e"`);
    else step.shell = parts;
  }
  if (run.network !== undefined) {
    if (typeof run.network !== 'boolean') problems.push(`${where}: \`network\` must be true or false`);
    else step.network = run.network;
  }
  return step;
}

function defaultStepName(command: string): string {
  const first = command.trim().split('\n')[0] ?? '';
  return first.length > 80 ? `${first.slice(0, 77)}...` : first || 'Run';
}

/** Parses and validates the YAML text; throws CustomConfigError listing every problem. */
export function parseCustomConfig(text: string, file = 'custom build config'): CustomBuildConfig {
  let doc: unknown;
  try {
    doc = parse(text, { maxAliasCount: 50 });
  } catch (err) {
    const message = err instanceof YAMLParseError ? err.message.split('\n')[0]! : String(err);
    throw invalid(file, [`not valid YAML: ${message}`]);
  }
  if (!isRecord(doc)) throw invalid(file, ['must be a mapping with a `build` key']);
  const problems: string[] = [];
  const extraTop = Object.keys(doc).filter((k) => k !== 'build');
  if (extraTop.length) problems.push(`unsupported top-level key${extraTop.length > 1 ? 's' : ''} ${extraTop.map((k) => `"${k}"`).join(', ')} (only \`build\` is supported)`);
  const build = doc.build;
  if (!isRecord(build)) throw invalid(file, [...problems, '`build` must be a mapping with `steps`']);
  const extraBuild = Object.keys(build).filter((k) => k !== 'name' && k !== 'steps');
  if (extraBuild.length) problems.push(`unsupported key${extraBuild.length > 1 ? 's' : ''} ${extraBuild.map((k) => `"build.${k}"`).join(', ')}`);
  if (build.name !== undefined && typeof build.name !== 'string') problems.push('`build.name` must be a string');
  if (!Array.isArray(build.steps) || build.steps.length === 0) throw invalid(file, [...problems, '`build.steps` must be a non-empty list']);
  if (build.steps.length > MAX_STEPS) throw invalid(file, [...problems, `more than ${MAX_STEPS} steps`]);
  const steps = build.steps.map((raw, i) => parseStep(raw, i, problems));
  if (problems.length) throw invalid(file, problems);
  return { ...(typeof build.name === 'string' ? { name: build.name } : {}), steps: steps as CustomStep[] };
}
