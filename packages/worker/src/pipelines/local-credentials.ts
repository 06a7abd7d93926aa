/**
 * `credentialsSource: local`: signing files named by the project's own credentials.json, in
 * eas-cli's format (eas-cli/src/credentials/credentialsJson/types.ts):
 *
 *   { "android": { "keystore": { "keystorePath", "keystorePassword", "keyAlias", "keyPassword"? } },
 *     "ios": { "provisioningProfilePath", "distributionCertificate": { "path", "password" } }
 *        or  { "<target>": { "provisioningProfilePath", "distributionCertificate": {…} }, … } }
 *
 * Every path must stay inside the project, also through symlinks: the project is untrusted input
 * and must not make the worker read its own files into a build.
 */
import { readFile, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { PipelineError } from './pipeline-error.js';

export const CREDENTIALS_JSON = 'credentials.json';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export async function readCredentialsJson(projectDir: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(join(projectDir, CREDENTIALS_JSON), 'utf8');
  } catch {
    throw new PipelineError(
      'CREDENTIALS_MISSING',
      `The profile says credentialsSource "local" but the project has no ${CREDENTIALS_JSON} (it is often git-ignored, ` +
        'so it is not uploaded); submit the build with its credentials, or include the file.',
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new PipelineError('CREDENTIALS_MISSING', `${CREDENTIALS_JSON} is not valid JSON (${(err as Error).message}).`);
  }
  if (!isObject(parsed)) throw new PipelineError('CREDENTIALS_MISSING', `${CREDENTIALS_JSON} must hold a JSON object.`);
  return parsed;
}

/** Reads a file a credentials.json path names, refusing any path that leaves the project. */
export async function readProjectFile(projectDir: string, path: unknown, what: string): Promise<Buffer> {
  if (typeof path !== 'string' || path === '') {
    throw new PipelineError('CREDENTIALS_MISSING', `${CREDENTIALS_JSON} does not name the ${what} file.`);
  }
  const escapes = (rel: string) => rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
  const target = resolve(projectDir, path);
  if (escapes(relative(projectDir, target))) {
    throw new PipelineError('CREDENTIALS_MISSING', `The ${what} path in ${CREDENTIALS_JSON} ("${path}") points outside the project.`);
  }
  let real: string;
  try {
    real = await realpath(target);
  } catch {
    throw new PipelineError('CREDENTIALS_MISSING', `The ${what} file "${path}" named in ${CREDENTIALS_JSON} is not in the project.`);
  }
  if (escapes(relative(await realpath(projectDir), real))) {
    throw new PipelineError('CREDENTIALS_MISSING', `The ${what} path in ${CREDENTIALS_JSON} ("${path}") leads outside the project through a link.`);
  }
  return readFile(real);
}

/** A string field of a credentials.json object, or a CREDENTIALS_MISSING naming what is absent. */
export function requireString(obj: Record<string, unknown>, field: string, where: string): string {
  const value = obj[field];
  if (typeof value !== 'string' || value === '') {
    throw new PipelineError('CREDENTIALS_MISSING', `${CREDENTIALS_JSON} has no "${where}.${field}".`);
  }
  return value;
}

export function requireObject(obj: Record<string, unknown>, field: string, where: string): Record<string, unknown> {
  const value = obj[field];
  if (!isObject(value)) throw new PipelineError('CREDENTIALS_MISSING', `${CREDENTIALS_JSON} has no "${where}${where ? '.' : ''}${field}" object.`);
  return value;
}

export { isObject };
