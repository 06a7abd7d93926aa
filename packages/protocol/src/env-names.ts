/**
 * The one rule for environment variable names a user sets: build env (spec and profile `env`) and
 * project secrets. Names follow the shell grammar `[A-Za-z_][A-Za-z0-9_]*` (at most 128 characters),
 * values never contain NUL (no process could receive them). Names that change how a process starts
 * (the dynamic loader, shell start-up files, iconv modules) or that shadow BuildMesh's own settings are
 * refused everywhere; secrets also refuse the names the worker sets for every step (PATH, HOME…),
 * since a secret silently overriding them breaks builds. Build env keeps those (EAS projects set
 * NODE_OPTIONS, NODE_ENV, PATH additions in eas.json): inside the sandbox they affect only the build.
 */
import { Type } from 'typebox';

/** Exact names refused everywhere. */
export const DANGEROUS_ENV_NAMES: readonly string[] = ['BASH_ENV', 'ENV', 'GCONV_PATH', 'LOCPATH', 'NLSPATH', 'HOSTALIASES', 'RESOLV_HOST_CONF', '__proto__', 'constructor', 'prototype'];
/** Name prefixes refused everywhere (LD_PRELOAD, LD_LIBRARY_PATH, DYLD_INSERT_LIBRARIES, BUILDMESH_ADMIN_TOKEN…). */
export const DANGEROUS_ENV_PREFIXES: readonly string[] = ['LD_', 'DYLD_', 'BUILDMESH_'];
/** Also refused as secret names: the worker sets these for every step. */
export const RESERVED_SECRET_NAMES: readonly string[] = ['PATH', 'HOME', 'TMPDIR', 'SHELL', 'USER', 'LOGNAME', 'PWD', 'NODE_OPTIONS'];

const alternatives = (names: readonly string[]) => names.join('|');
const refused = (names: readonly string[]) => `(?!(?:${alternatives(DANGEROUS_ENV_PREFIXES)}))(?!(?:${alternatives(names)})$)`;
const GRAMMAR = '[A-Za-z_][A-Za-z0-9_]{0,127}';

/** Pattern of a build env name (spec env, profile env). */
export const BUILD_ENV_NAME_PATTERN = `^${refused(DANGEROUS_ENV_NAMES)}${GRAMMAR}$`;
/** Pattern of a project secret name. */
export const SECRET_NAME_PATTERN = `^${refused([...DANGEROUS_ENV_NAMES, ...RESERVED_SECRET_NAMES])}${GRAMMAR}$`;

const BUILD_ENV_NAME = new RegExp(BUILD_ENV_NAME_PATTERN);
const SECRET_NAME = new RegExp(SECRET_NAME_PATTERN);

/** Why `name` is refused as a build env name or a secret name, or undefined when it is fine. */
export function envNameProblem(name: string, kind: 'env' | 'secret'): string | undefined {
  if (!new RegExp(`^${GRAMMAR}$`).test(name)) return `${JSON.stringify(name)} is not a variable name ([A-Za-z_][A-Za-z0-9_]*, at most 128 characters)`;
  if ((kind === 'env' ? BUILD_ENV_NAME : SECRET_NAME).test(name)) return undefined;
  return `${name} is reserved: it would change how the build's processes start or override what the worker sets`;
}

/** Any text without NUL (neither a process's environment nor PostgreSQL's text can hold one). */
export const NulFreeText = (maxLength: number, minLength = 0) =>
  Type.String({ minLength, maxLength, pattern: '^[^\\u0000]*$', description: 'any text without NUL' });

/** A variable's value: anything but NUL. */
export const EnvValue = NulFreeText;

export const BuildEnvName = Type.String({ pattern: BUILD_ENV_NAME_PATTERN, description: 'a variable name; LD_*, DYLD_*, BUILDMESH_*, BASH_ENV, ENV, GCONV_PATH… are refused' });
export const SecretName = Type.String({ pattern: SECRET_NAME_PATTERN, description: 'a variable name; PATH, HOME, NODE_OPTIONS, LD_*, BUILDMESH_*… are refused' });
