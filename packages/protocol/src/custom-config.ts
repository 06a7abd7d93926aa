/**
 * EAS-style custom build configs (`.eas/build/<name>.yml`, selected by a profile's `config`): the
 * ONE parser and validator, run by the CLI (`build`, `doctor`: refused before any upload) and by the
 * worker (which turns the steps into phases). Pure: text in, config or CustomConfigError out.
 *
 *   build:
 *     name: Tests
 *     steps:
 *       - eas/checkout                       # a built-in function (custom-functions.ts lists them)
 *       - eas/install_node_modules
 *       - run: npm test                      # a string: the command, run with bash -eo pipefail
 *       - run:
 *           id: version                      # phase name (default CUSTOM); ${{ steps.version.outputs.* }}
 *           name: Read the version           # phase title, heads the step's log section
 *           command: set-output value "$(node -p 'require(\"./package.json\").version')"
 *           outputs: [value]                 # or [{ name: value, required: true }]
 *           env: { NODE_ENV: production }
 *           working_directory: packages/app  # inside the project
 *           timeout_minutes: 10
 *           shell: bash -e                   # default: bash -eo pipefail
 *           network: true                    # BuildMesh extension: network inside the sandbox (default off)
 *           if: ${{ success() }}             # success() (default), failure(), always(), expressions
 *       - eas/upload_artifact:
 *           inputs: { path: dist/app.tar.gz }
 *       - greet:                             # a function of this file
 *           inputs: { name: "${{ steps.version.outputs.value }}" }
 *   functions:
 *     greet:
 *       name: Greet
 *       inputs: [{ name: name, required: true }]
 *       outputs: [greeting]
 *       command: set-output greeting "hello ${ inputs.name }"
 *
 * Everything EAS knows but BuildMesh does not run (an `eas/…` function not in the list, a
 * function implemented by a JavaScript module `path`, `import`) is refused naming it — with
 * CUSTOM_FUNCTION_UNSUPPORTED for functions — so a build never silently skips a step its author
 * relies on. Imported as `@buildmesh/protocol/custom-config` (not from the index: only what
 * parses configs pays for the YAML parser).
 */
import { isAbsolute, normalize, relative, resolve } from 'node:path';
import { parse, YAMLParseError } from 'yaml';
import { ExpressionError, parseCondition, parseTemplate, type Expr } from './custom-expressions.js';
import {
  BUILTIN_FUNCTION_SPECS,
  UNSUPPORTED_EAS_FUNCTIONS,
  type FunctionInputSpec,
  type FunctionInputType,
  type FunctionOutputSpec,
} from './custom-functions.js';

export * from './custom-expressions.js';
export * from './custom-functions.js';

/** Is `child` `parent` itself or below it (lexically)? */
function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

export const CUSTOM_CONFIG_DIR = '.eas/build';
export const MAX_CONFIG_BYTES = 1024 * 1024;
const MAX_STEPS = 150;
const MAX_FUNCTIONS = 100;
const DEFAULT_SHELL = ['bash', '-eo', 'pipefail'];
const CONFIG_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/;
const STEP_ID = /^[A-Za-z0-9_-]{1,64}$/;
const FUNCTION_ID = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const VALUE_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const COMMON_KEYS = ['id', 'name', 'env', 'working_directory', 'timeout_minutes', 'shell', 'network', 'if'];
const RUN_KEYS = new Set([...COMMON_KEYS, 'command', 'outputs']);
const CALL_KEYS = new Set([...COMMON_KEYS, 'inputs']);
const FUNCTION_KEYS = new Set(['name', 'inputs', 'outputs', 'command', 'shell', 'supported_platforms', 'path']);
const INPUT_TYPES: FunctionInputType[] = ['string', 'boolean', 'number', 'json'];


interface StepBase {
  /** Unique in the config; names the phase and `steps.<id>` in expressions. */
  id?: string;
  name: string;
  /** The `if:` source, parsed: undefined = `success()`. */
  if?: { source: string; expr: Expr };
  env: Record<string, string>;
  /** Relative to the project directory, normalised; undefined = the project directory. */
  workingDirectory?: string;
  timeoutMinutes?: number;
  shell: string[];
  network: boolean;
}

export interface RunStep extends StepBase {
  kind: 'run';
  command: string;
  outputs: FunctionOutputSpec[];
}

export interface CallStep extends StepBase {
  kind: 'call';
  /** `eas/checkout`, or the id of a function of this config. */
  function: string;
  /** Values as written (templates still in strings), defaults filled in. */
  inputs: Record<string, unknown>;
}

export type CustomStep = RunStep | CallStep;

/** A function of the config's `functions:` section (a shell command with inputs and outputs). */
export interface CustomFunction {
  id: string;
  name?: string;
  inputs: FunctionInputSpec[];
  outputs: FunctionOutputSpec[];
  command: string;
  shell: string[];
  /** `darwin` / `linux`; undefined = both. */
  supportedPlatforms?: string[];
}

export interface CustomBuildConfig {
  name?: string;
  steps: CustomStep[];
  functions: Record<string, CustomFunction>;
}

/** A config the worker would refuse: every problem found, each naming its step and the reason. */
export class CustomConfigError extends Error {
  /** CUSTOM_FUNCTION_UNSUPPORTED when a function BuildMesh does not run is among the problems. */
  readonly code: 'CUSTOM_CONFIG_INVALID' | 'CUSTOM_FUNCTION_UNSUPPORTED';
  constructor(
    readonly file: string,
    readonly problems: string[],
    readonly unsupportedFunctions: string[] = [],
  ) {
    super(`${file}: ${problems.join('; ')}`);
    this.name = 'CustomConfigError';
    this.code = unsupportedFunctions.length ? 'CUSTOM_FUNCTION_UNSUPPORTED' : 'CUSTOM_CONFIG_INVALID';
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (keys: string[]): string => keys.map((k) => `"${k}"`).join(', ');
const plural = (n: number, word: string): string => `${word}${n === 1 ? '' : 's'}`;

/** `.eas/build/<name>` inside the project, refusing names that could point anywhere else. */
export function customConfigRelativePath(configName: string): string {
  const name = /\.ya?ml$/.test(configName) ? configName : `${configName}.yml`;
  if (!CONFIG_NAME.test(name) || name.split('/').some((part) => part === '..' || part === '.')) {
    throw new CustomConfigError(configName, [`the profile's config "${configName}" is not a plain file name inside ${CUSTOM_CONFIG_DIR}`]);
  }
  return `${CUSTOM_CONFIG_DIR}/${name}`;
}

/** Collects problems for one config; `where` prefixes each. */
class Problems {
  readonly all: string[] = [];
  readonly unsupported: string[] = [];
  add(where: string, text: string): void {
    this.all.push(`${where}: ${text}`);
  }
  unsupportedFunction(where: string, id: string, why: string): void {
    this.unsupported.push(id);
    this.add(where, `function "${id}" is not supported by BuildMesh (${why})`);
  }
  /** Validates the expressions embedded in a string; `known` = step ids defined before this point. */
  templates(where: string, source: string, known: Set<string> | undefined): void {
    try {
      for (const expr of parseTemplate(source)) this.references(where, expr, known);
    } catch (err) {
      if (!(err instanceof ExpressionError)) throw err;
      this.add(where, err.message);
    }
  }
  references(where: string, expr: Expr, known: Set<string> | undefined): void {
    const walk = (e: Expr): void => {
      if (e.t === 'ref' && e.path[0] === 'steps' && known && e.path[1] !== undefined && !known.has(e.path[1])) {
        this.add(where, `refers to step "${e.path[1]}", which no earlier step has as its id`);
      }
      if (e.t === 'not') walk(e.e);
      if (e.t === 'bin') {
        walk(e.l);
        walk(e.r);
      }
      if (e.t === 'call') e.args.forEach(walk);
    };
    walk(expr);
  }
}

function parseShell(value: unknown, where: string, problems: Problems): string[] | undefined {
  const parts = typeof value === 'string' ? value.trim().split(/\s+/).filter(Boolean) : [];
  if (parts.length === 0) {
    problems.add(where, '`shell` must be a command such as "bash -e"');
    return undefined;
  }
  return parts;
}

function parseOutputs(value: unknown, where: string, problems: Problems): FunctionOutputSpec[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.add(where, '`outputs` must be a list of names or { name, required }');
    return [];
  }
  const outputs: FunctionOutputSpec[] = [];
  for (const item of value) {
    const name = typeof item === 'string' ? item : isRecord(item) ? item.name : undefined;
    const required = isRecord(item) ? item.required : undefined;
    if (typeof name !== 'string' || !VALUE_NAME.test(name)) problems.add(where, `output ${JSON.stringify(name)} is not a valid name`);
    else if (required !== undefined && typeof required !== 'boolean') problems.add(where, `output "${name}": \`required\` must be true or false`);
    else if (isRecord(item) && Object.keys(item).some((k) => k !== 'name' && k !== 'required')) problems.add(where, `output "${name}": only \`name\` and \`required\` are supported`);
    else outputs.push({ name, required: required === true });
  }
  return outputs;
}

function typeMatches(type: FunctionInputType, value: unknown): boolean {
  // A template is checked when it is resolved, at run time.
  if (typeof value === 'string' && parseTemplateSafe(value)) return true;
  if (type === 'string') return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
  if (type === 'boolean') return typeof value === 'boolean';
  if (type === 'number') return typeof value === 'number';
  return true;
}

function parseTemplateSafe(value: string): boolean {
  try {
    return parseTemplate(value).length > 0;
  } catch {
    return false;
  }
}

function parseInputSpecs(value: unknown, where: string, problems: Problems): FunctionInputSpec[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.add(where, '`inputs` must be a list of { name, required, type, default_value, allowed_values }');
    return [];
  }
  const inputs: FunctionInputSpec[] = [];
  for (const item of value) {
    const raw = typeof item === 'string' ? { name: item } : item;
    if (!isRecord(raw) || typeof raw.name !== 'string' || !VALUE_NAME.test(raw.name)) {
      problems.add(where, `input ${JSON.stringify(isRecord(raw) ? raw.name : raw)} is not a valid name`);
      continue;
    }
    const at = `${where}: input "${raw.name}"`;
    const unknown = Object.keys(raw).filter((k) => !['name', 'required', 'type', 'default_value', 'allowed_values'].includes(k));
    if (unknown.length) problems.add(at, `unsupported ${plural(unknown.length, 'key')} ${list(unknown)}`);
    const type = (raw.type ?? 'string') as FunctionInputType;
    if (!INPUT_TYPES.includes(type)) problems.add(at, `\`type\` must be one of ${INPUT_TYPES.join(', ')}`);
    if (raw.required !== undefined && typeof raw.required !== 'boolean') problems.add(at, '`required` must be true or false');
    if (raw.allowed_values !== undefined && !Array.isArray(raw.allowed_values)) problems.add(at, '`allowed_values` must be a list');
    const spec: FunctionInputSpec = { name: raw.name, type, required: raw.required !== false };
    if (raw.default_value !== undefined) {
      spec.defaultValue = raw.default_value;
      spec.required = raw.required === true;
    }
    if (Array.isArray(raw.allowed_values)) spec.allowedValues = raw.allowed_values;
    inputs.push(spec);
  }
  return inputs;
}

function parseFunction(id: string, raw: unknown, problems: Problems): CustomFunction | undefined {
  const where = `function "${id}"`;
  if (!FUNCTION_ID.test(id) || id.startsWith('eas')) {
    problems.add(where, 'a function id is letters, digits, _ or - and must not start with "eas"');
    return undefined;
  }
  if (!isRecord(raw)) {
    problems.add(where, 'must be a mapping with a `command`');
    return undefined;
  }
  const unknown = Object.keys(raw).filter((k) => !FUNCTION_KEYS.has(k));
  if (unknown.length) problems.add(where, `unsupported ${plural(unknown.length, 'key')} ${list(unknown)} (supported: ${[...FUNCTION_KEYS].filter((k) => k !== 'path').join(', ')})`);
  if (raw.path !== undefined) {
    problems.unsupportedFunction(where, id, 'functions written as JavaScript/TypeScript modules (`path`) are not run; give it a shell `command`');
    return undefined;
  }
  if (typeof raw.command !== 'string' || !raw.command.trim()) {
    problems.add(where, '`command` must be a non-empty string');
    return undefined;
  }
  if (raw.name !== undefined && typeof raw.name !== 'string') problems.add(where, '`name` must be a string');
  const fn: CustomFunction = {
    id,
    ...(typeof raw.name === 'string' ? { name: raw.name } : {}),
    inputs: parseInputSpecs(raw.inputs, where, problems),
    outputs: parseOutputs(raw.outputs, where, problems),
    command: raw.command,
    shell: raw.shell === undefined ? DEFAULT_SHELL : (parseShell(raw.shell, where, problems) ?? DEFAULT_SHELL),
  };
  if (raw.supported_platforms !== undefined) {
    const platforms = raw.supported_platforms;
    if (!Array.isArray(platforms) || platforms.some((p) => p !== 'darwin' && p !== 'linux')) problems.add(where, '`supported_platforms` must be a list of darwin, linux');
    else fn.supportedPlatforms = platforms as string[];
  }
  problems.templates(where, fn.command, undefined);
  return fn;
}

/** Fields every step form shares. */
function parseCommon(body: Record<string, unknown>, where: string, problems: Problems, ids: Set<string>, fallbackName: string): StepBase {
  const step: StepBase = { name: fallbackName, env: {}, shell: DEFAULT_SHELL, network: false };
  if (body.id !== undefined) {
    if (typeof body.id !== 'string' || !STEP_ID.test(body.id)) problems.add(where, '`id` must be 1-64 letters, digits, _ or -');
    else if (ids.has(body.id)) problems.add(where, `id "${body.id}" is used by an earlier step`);
    else step.id = body.id;
  }
  if (body.name !== undefined && typeof body.name !== 'string') problems.add(where, '`name` must be a string');
  if (typeof body.name === 'string' && body.name.trim()) step.name = body.name.trim().slice(0, 200);
  if (body.env !== undefined) {
    if (!isRecord(body.env)) problems.add(where, '`env` must be a mapping');
    else {
      for (const [key, value] of Object.entries(body.env)) {
        if (!ENV_NAME.test(key)) problems.add(where, `env name "${key}" is not valid`);
        else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
          step.env[key] = String(value);
          problems.templates(`${where}: env ${key}`, step.env[key], ids);
        } else problems.add(where, `env "${key}" must be a string, number or boolean`);
      }
    }
  }
  if (body.working_directory !== undefined) {
    const wd = body.working_directory;
    if (typeof wd !== 'string' || !wd.trim()) problems.add(where, '`working_directory` must be a non-empty string');
    else if (isAbsolute(wd) || !isInside('/project', resolve('/project', wd))) problems.add(where, `working_directory "${wd}" is outside the project`);
    else step.workingDirectory = normalize(wd);
  }
  if (body.timeout_minutes !== undefined) {
    const t = body.timeout_minutes;
    if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0 || t > 7 * 24 * 60) problems.add(where, '`timeout_minutes` must be a positive number of minutes');
    else step.timeoutMinutes = t;
  }
  if (body.shell !== undefined) step.shell = parseShell(body.shell, where, problems) ?? DEFAULT_SHELL;
  if (body.network !== undefined) {
    if (typeof body.network !== 'boolean') problems.add(where, '`network` must be true or false');
    else step.network = body.network;
  }
  if (body.if !== undefined) {
    if (typeof body.if !== 'string' && typeof body.if !== 'boolean') problems.add(where, '`if` must be an expression such as ${{ failure() }}');
    else {
      const source = String(body.if);
      try {
        const expr = parseCondition(source);
        problems.references(`${where}: if`, expr, ids);
        step.if = { source, expr };
      } catch (err) {
        if (!(err instanceof ExpressionError)) throw err;
        problems.add(where, `if: ${err.message}`);
      }
    }
  }
  return step;
}

function parseRun(run: unknown, rest: Record<string, unknown>, where: string, problems: Problems, ids: Set<string>): RunStep | undefined {
  if (typeof run === 'string') {
    if (!run.trim()) problems.add(where, '`run` is empty');
    problems.templates(where, run, ids);
    // EAS also allows the step's other keys beside a string `run` (`- name: x` + `run: cmd`).
    const body = { ...rest, command: run };
    return finishRun(body, where, problems, ids);
  }
  if (!isRecord(run)) {
    problems.add(where, '`run` must be a command string or a mapping');
    return undefined;
  }
  if (Object.keys(rest).length) {
    problems.add(where, `unexpected ${plural(Object.keys(rest).length, 'key')} ${list(Object.keys(rest))} beside \`run\` (put them inside it)`);
    return undefined;
  }
  return finishRun(run, where, problems, ids);
}

function finishRun(body: Record<string, unknown>, where: string, problems: Problems, ids: Set<string>): RunStep {
  const unknown = Object.keys(body).filter((k) => !RUN_KEYS.has(k));
  if (unknown.length) problems.add(where, `unsupported ${plural(unknown.length, 'key')} ${list(unknown)} (supported: ${[...RUN_KEYS].join(', ')})`);
  let command = '';
  if (typeof body.command !== 'string' || !body.command.trim()) problems.add(where, '`command` must be a non-empty string');
  else {
    command = body.command;
    problems.templates(where, command, ids);
  }
  const common = parseCommon(body, where, problems, ids, defaultStepName(command));
  return { ...common, kind: 'run', command, outputs: parseOutputs(body.outputs, where, problems) };
}

function parseCall(
  id: string,
  body: unknown,
  where: string,
  problems: Problems,
  ids: Set<string>,
  functions: Record<string, CustomFunction>,
  declared: Set<string>,
): CallStep | undefined {
  const builtin = BUILTIN_FUNCTION_SPECS[id];
  const own = declared.has(id) ? functions[id] : undefined;
  if (!builtin && !declared.has(id)) {
    if (id.startsWith('eas/')) problems.unsupportedFunction(where, id, UNSUPPORTED_EAS_FUNCTIONS[id] ?? 'not one of the built-in functions BuildMesh runs');
    else problems.add(where, `calls "${id}", which is neither a built-in function nor defined under \`functions\``);
    return undefined;
  }
  if (body !== null && body !== undefined && !isRecord(body)) {
    problems.add(where, `the call of "${id}" must be a mapping (id, name, inputs, env, working_directory, if…)`);
    return undefined;
  }
  const fields = body ?? {};
  const unknown = Object.keys(fields).filter((k) => !CALL_KEYS.has(k));
  if (unknown.length) problems.add(where, `unsupported ${plural(unknown.length, 'key')} ${list(unknown)} in the call of "${id}" (supported: ${[...CALL_KEYS].join(', ')})`);
  const common = parseCommon(fields, where, problems, ids, builtin?.id ?? own?.name ?? id);
  const specs = builtin?.inputs ?? own?.inputs ?? [];
  const given = fields.inputs === undefined ? {} : fields.inputs;
  const inputs: Record<string, unknown> = {};
  if (!isRecord(given)) problems.add(where, '`inputs` must be a mapping of input names to values');
  else {
    for (const name of Object.keys(given)) {
      if (!specs.some((s) => s.name === name)) problems.add(where, `"${id}" has no input "${name}"${specs.length ? ` (inputs: ${specs.map((s) => s.name).join(', ')})` : ''}`);
    }
    for (const spec of specs) {
      const value = Object.hasOwn(given, spec.name) ? given[spec.name] : spec.defaultValue;
      if (value === undefined) {
        if (spec.required) problems.add(where, `"${id}" needs the input "${spec.name}"`);
        continue;
      }
      if (!typeMatches(spec.type, value)) problems.add(where, `input "${spec.name}" of "${id}" must be a ${spec.type}`);
      const isTemplate = typeof value === 'string' && parseTemplateSafe(value);
      if (spec.allowedValues && !isTemplate && !spec.allowedValues.includes(value)) {
        problems.add(where, `input "${spec.name}" of "${id}" must be one of ${spec.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`);
      }
      if (typeof value === 'string') problems.templates(`${where}: input ${spec.name}`, value, ids);
      inputs[spec.name] = value;
    }
  }
  return { ...common, kind: 'call', function: id, inputs };
}

function parseStep(
  raw: unknown,
  index: number,
  problems: Problems,
  ids: Set<string>,
  functions: Record<string, CustomFunction>,
  declared: Set<string>,
): CustomStep | undefined {
  const where = `step ${index + 1}`;
  let step: CustomStep | undefined;
  if (typeof raw === 'string') step = parseCall(raw, undefined, where, problems, ids, functions, declared);
  else if (!isRecord(raw)) problems.add(where, 'must be a `run` step or a function call');
  else if (Object.hasOwn(raw, 'run')) {
    const { run, ...rest } = raw;
    step = parseRun(run, rest, where, problems, ids);
  } else {
    const keys = Object.keys(raw);
    if (keys.length !== 1) problems.add(where, `a function call is one key (the function), got ${list(keys)}`);
    else step = parseCall(keys[0]!, raw[keys[0]!], where, problems, ids, functions, declared);
  }
  if (step?.id) ids.add(step.id);
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
    throw new CustomConfigError(file, [`not valid YAML: ${message}`]);
  }
  if (!isRecord(doc)) throw new CustomConfigError(file, ['must be a mapping with a `build` key']);
  const problems = new Problems();
  const extraTop = Object.keys(doc).filter((k) => k !== 'build' && k !== 'functions');
  if (extraTop.length) {
    problems.add('config', `unsupported top-level ${plural(extraTop.length, 'key')} ${list(extraTop)} (supported: build, functions${extraTop.includes('import') ? '; put imported functions in this file' : ''})`);
  }
  const functions: Record<string, CustomFunction> = {};
  const declared = new Set<string>();
  if (doc.functions !== undefined) {
    if (!isRecord(doc.functions)) problems.add('functions', 'must be a mapping of function ids to definitions');
    else if (Object.keys(doc.functions).length > MAX_FUNCTIONS) problems.add('functions', `more than ${MAX_FUNCTIONS}`);
    else {
      for (const [id, raw] of Object.entries(doc.functions)) {
        declared.add(id);
        const fn = parseFunction(id, raw, problems);
        if (fn) functions[id] = fn;
      }
    }
  }
  const build = doc.build;
  const fail = (extra: string[] = []): CustomConfigError => new CustomConfigError(file, [...problems.all, ...extra], problems.unsupported);
  if (!isRecord(build)) throw fail(['`build` must be a mapping with `steps`']);
  const extraBuild = Object.keys(build).filter((k) => k !== 'name' && k !== 'steps');
  if (extraBuild.length) problems.add('build', `unsupported ${plural(extraBuild.length, 'key')} ${list(extraBuild.map((k) => `build.${k}`))}`);
  if (build.name !== undefined && typeof build.name !== 'string') problems.add('build', '`build.name` must be a string');
  if (!Array.isArray(build.steps) || build.steps.length === 0) throw fail(['`build.steps` must be a non-empty list']);
  if (build.steps.length > MAX_STEPS) throw fail([`more than ${MAX_STEPS} steps`]);
  const ids = new Set<string>();
  const steps = build.steps.map((raw, i) => parseStep(raw, i, problems, ids, functions, declared));
  if (problems.all.length) throw fail();
  return { ...(typeof build.name === 'string' ? { name: build.name } : {}), steps: steps as CustomStep[], functions };
}
