/**
 * `buildmesh secrets set|list|delete`: a project's secret environment variables, given to its
 * builds (masked in their logs). Values come from stdin or a hidden prompt, never argv, and are
 * never printed back. `set --file PATH` stores a file secret: builds get the variable as the path
 * of a file with that content (as EAS's file secrets, e.g. for googleServicesFile). `--environment`
 * scopes a secret to an EAS environment: only builds whose profile has that `environment` get it.
 */
import { readFile, stat } from 'node:fs/promises';
import { MAX_FILE_SECRET_BYTES } from '@buildmesh/protocol';
import { action, command, group } from '../command-kit.js';
import { connect } from '../config.js';
import { CliError, formatAgo, renderTable } from '../output.js';
import { detectProjectName, resolveProjectDir } from '../project.js';
import { readSecret } from '../prompt.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

interface ProjectOption {
  json?: boolean;
  project?: string;
}

interface ScopeOption extends ProjectOption {
  environment?: string;
}

interface SetOption extends ScopeOption {
  file?: string;
}

const ENVIRONMENT_OPTION = ['--environment <name>', 'EAS environment (development, preview, production or custom): only builds whose profile has it (eas.json "environment") get the secret (default: every build)'] as const;
const ENVIRONMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

function checkEnvironment(environment: string | undefined): string | undefined {
  if (environment !== undefined && !ENVIRONMENT_NAME.test(environment)) {
    throw new CliError('INVALID_ENVIRONMENT', `"${environment}" is not a valid environment name`, 'use letters, digits, _ . - (at most 64), e.g. production');
  }
  return environment;
}

const scopeText = (environment: string | undefined) => (environment ? ` (environment ${environment})` : '');

async function readSecretFile(path: string): Promise<Buffer> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    throw new CliError('FILE_NOT_READABLE', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (size > MAX_FILE_SECRET_BYTES) {
    throw new CliError('SECRET_FILE_TOO_LARGE', `${path} is ${size} bytes; a file secret holds at most ${MAX_FILE_SECRET_BYTES} bytes`);
  }
  return readFile(path);
}

const projectOf = async (opts: ProjectOption) => opts.project ?? (await detectProjectName(await resolveProjectDir('.')));

function checkName(name: string): string {
  if (!ENV_NAME.test(name)) throw new CliError('INVALID_SECRET_NAME', `"${name}" is not a valid environment variable name`, 'use letters, digits and _ (not starting with a digit)');
  return name;
}

const set = action<SetOption>(
  command('set', 'Set a secret from stdin or a hidden prompt (never from argv), or a file secret from a file', [
    'buildmesh secrets set SENTRY_AUTH_TOKEN            # prompts, input hidden',
    'buildmesh secrets set NPM_TOKEN < npm-token.txt',
    'printf %s "$VALUE" | buildmesh secrets set API_KEY --project my-app',
    'buildmesh secrets set GOOGLE_SERVICES_JSON --file google-services.json   # builds get a path',
    'buildmesh secrets set API_URL --environment production   # only builds with "environment": "production"',
  ])
    .argument('<name>', 'environment variable name')
    .option('--project <name>', 'project (default: from app.json / package.json in the current directory)')
    .option('--file <path>', 'a file secret: builds get $NAME as the path of a file with this content (at most 256 KiB)')
    .option(...ENVIRONMENT_OPTION)
    .addHelpText('after', '\nJSON (--json): { project, secret: { name, updatedAt, type?, environment? } } (type "file" with --file)\n'),
  async ({ out, opts, args }) => {
    const name = checkName(args[0]!);
    const environment = checkEnvironment(opts.environment);
    const project = await projectOf(opts);
    if (opts.file) {
      const content = await readSecretFile(opts.file);
      const { client } = await connect();
      const secret = await client.setSecret(project, name, content.toString('base64'), 'file', environment);
      if (out.json) {
        out.printJson({ project, secret: { ...secret, type: 'file' } });
        return;
      }
      out.info(`${out.c.green('✔')} File secret ${name} set for ${project}${scopeText(environment)} (${content.length} bytes; builds get $${name} as the path of a file with them).`);
      return;
    }
    const value = await readSecret({ prompt: `Value of ${name} (input hidden): `, what: 'value' });
    const { client } = await connect();
    const secret = await client.setSecret(project, name, value, 'string', environment);
    if (out.json) {
      out.printJson({ project, secret });
      return;
    }
    out.info(`${out.c.green('✔')} Secret ${name} set for ${project}${scopeText(environment)} (${value.length} characters; not shown).`);
  },
);

const list = action<ProjectOption>(
  command('list', "List a project's secrets (names only)", ['buildmesh secrets list', 'buildmesh secrets list --project my-app --json'])
    .option('--project <name>', 'project (default: from app.json / package.json in the current directory)')
    .addHelpText('after', '\nJSON (--json): { project, secrets: [{ name, updatedAt, environment? }] } (environment absent: every build)\n'),
  async ({ out, opts }) => {
    const project = await projectOf(opts);
    const { client } = await connect();
    const { secrets } = await client.listSecrets(project);
    if (out.json) {
      out.printJson({ project, secrets });
      return;
    }
    if (secrets.length === 0) {
      out.info(`No secrets for ${project}.`);
      return;
    }
    out.info(renderTable(secrets, [
      { header: 'NAME', value: (s) => s.name },
      { header: 'ENVIRONMENT', value: (s) => s.environment ?? '(all)' },
      { header: 'UPDATED', value: (s) => formatAgo(s.updatedAt) },
    ], out.c));
  },
);

const remove = action<ScopeOption>(
  command('delete', 'Delete a secret (the unscoped one, or with --environment the one scoped to it)', [
    'buildmesh secrets delete NPM_TOKEN',
    'buildmesh secrets delete API_URL --environment production',
  ])
    .argument('<name>', 'environment variable name')
    .option('--project <name>', 'project (default: from app.json / package.json in the current directory)')
    .option(...ENVIRONMENT_OPTION)
    .addHelpText('after', '\nJSON (--json): { project, name, environment?, deleted: true }\n'),
  async ({ out, opts, args }) => {
    const name = checkName(args[0]!);
    const environment = checkEnvironment(opts.environment);
    const project = await projectOf(opts);
    const { client } = await connect();
    await client.deleteSecret(project, name, environment);
    if (out.json) {
      out.printJson({ project, name, ...(environment ? { environment } : {}), deleted: true });
      return;
    }
    out.info(`${out.c.green('✔')} Secret ${name} deleted from ${project}${scopeText(environment)}.`);
  },
);

export const secretsCommand = group(
  'secrets',
  'Manage secret environment variables of a project',
  ['buildmesh secrets set NPM_TOKEN < npm-token.txt', 'buildmesh secrets list'],
  [set, list, remove],
);
