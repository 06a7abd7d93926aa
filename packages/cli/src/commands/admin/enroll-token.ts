/**
 * `buildmesh admin enroll-token create|list|revoke`: tokens workers enroll with, for the org's
 * private pool or (instance admin, --shared) the pool every org's builds may use.
 */
import { action, command, group } from '../../command-kit.js';
import { connect } from '../../config.js';
import { formatAgo, renderTable } from '../../output.js';
import { cli } from '../../invocation.js';

interface CreateOptions {
  json?: boolean;
  shared?: boolean;
}

const create = action<CreateOptions>(
  command('create', 'Create a worker enrollment token; its secret is printed once', [
    'buildmesh admin enroll-token create mac-minis',
    'buildmesh admin enroll-token create shared-linux --shared --json',
  ])
    .argument('[name]', 'a name for the token (lower-case letters, digits, . _ -)', 'worker')
    .option('--shared', "enroll workers into the instance-shared pool (instance admin only); default: your org's pool")
    .addHelpText('after', '\nJSON (--json): { enrollmentToken: EnrollmentTokenInfo, secret }\n'),
  async ({ out, opts, args }) => {
    const { client, connection } = await connect();
    const created = await client.createEnrollmentToken(args[0]!, opts.shared ? 'shared' : 'org');
    if (out.json) {
      out.printJson(created);
      return;
    }
    const { c } = out;
    out.info(`${c.green('✔')} Enrollment token ${c.bold(created.enrollmentToken.name)} (${created.enrollmentToken.id}, ${created.enrollmentToken.pool} pool) created.`);
    out.info(c.yellow('Copy the secret now; it is shown only this once:'));
    out.info(`\n  ${created.secret}\n`);
    out.info('On the worker machine, install the CLI from the controller, save the secret to a file only you can read, then start the worker:');
    out.info(`  npm install -g ${connection.url}/cli/buildmesh.tgz`);
    out.info(`  umask 077; cat > enroll-token     # paste, then Ctrl-D`);
    out.info(`  buildmesh worker --url ${connection.url} --token-file enroll-token`);
  },
);

const list = action<{ json?: boolean }>(
  command('list', 'List enrollment tokens', ['buildmesh admin enroll-token list']).addHelpText('after', '\nJSON (--json): { enrollmentTokens: EnrollmentTokenInfo[] }\n'),
  async ({ out }) => {
    const { client } = await connect();
    const { enrollmentTokens } = await client.listEnrollmentTokens();
    if (out.json) {
      out.printJson({ enrollmentTokens });
      return;
    }
    out.info(renderTable(enrollmentTokens, [
      { header: 'ID', value: (t) => t.id },
      { header: 'NAME', value: (t) => t.name, max: 32 },
      { header: 'POOL', value: (t) => t.pool },
      { header: 'CREATED', value: (t) => formatAgo(t.createdAt) },
      { header: 'STATE', value: (t) => (t.revokedAt ? 'revoked' : 'active') },
    ], out.c));
  },
);

const revoke = action<{ json?: boolean; andWorkers?: boolean }>(
  command('revoke', 'Revoke an enrollment token; with --and-workers also every worker it enrolled', [
    'buildmesh admin enroll-token revoke enr_01jb7x6k2m3n4p5q6r7s8t9v0w',
    'buildmesh admin enroll-token revoke enr_01jb7x6k2m3n4p5q6r7s8t9v0w --and-workers',
  ])
    .argument('<id>', 'enrollment token id (enr_…)')
    .option('--and-workers', 'also revoke the workers enrolled with it (their credentials stop working at once); default: they keep working')
    .addHelpText('after', '\nJSON (--json): { enrollmentToken: EnrollmentTokenInfo, revokedWorkers: string[] }\n'),
  async ({ out, opts, args }) => {
    const { client } = await connect();
    const { revokedWorkers, ...enrollmentToken } = await client.revokeEnrollmentToken(args[0]!, { andWorkers: opts.andWorkers === true });
    if (out.json) {
      out.printJson({ enrollmentToken, revokedWorkers });
      return;
    }
    out.info(`${out.c.green('✔')} Enrollment token ${enrollmentToken.name} (${enrollmentToken.id}) revoked.`);
    if (opts.andWorkers) out.info(`Workers revoked with it: ${revokedWorkers.join(', ') || 'none'}.`);
    else out.info(`Workers it enrolled keep working; revoke them with --and-workers, or one by one with \`${cli()} workers revoke ID\`.`);
  },
);

export const enrollTokenCommand = group('enroll-token', 'Manage worker enrollment tokens', ['buildmesh admin enroll-token create mac-minis', 'buildmesh admin enroll-token list'], [create, list, revoke]);
