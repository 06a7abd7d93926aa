/** `buildmesh admin token create|list|revoke`: API tokens of an org. A new token's secret is shown once. */
import { Option } from 'commander';
import type { CreateTokenRequest, Role } from '@buildmesh/protocol';
import { action, command, group } from '../../command-kit.js';
import { connect } from '../../config.js';
import { formatAgo, renderTable } from '../../output.js';
import { cli } from '../../invocation.js';

interface CreateOptions {
  json?: boolean;
  role: Role;
  org?: string;
}

const create = action<CreateOptions>(
  command('create', 'Create an API token; its secret is printed once', [
    'buildmesh admin token create ci --role member',
    'buildmesh admin token create dashboard-viewer --role read-only --json',
    'buildmesh admin token create acme-admin --role admin --org org_01jb7x6k2m3n4p5q6r7s8t9v0w',
  ])
    .argument('<name>', 'token name: lower-case letters, digits, . _ -')
    .addOption(new Option('--role <role>', 'what the token may do').choices(['admin', 'member', 'read-only']).default('member'))
    .option('--org <id>', "another org's id (instance admin only; default: your org)")
    .addHelpText('after', '\nJSON (--json): { token: TokenInfo, secret }  — the secret is not retrievable later.\n'),
  async ({ out, opts, args }) => {
    const { client, connection } = await connect();
    const request: CreateTokenRequest = { name: args[0]!, role: opts.role, ...(opts.org ? { orgId: opts.org } : {}) };
    const created = await client.createToken(request);
    if (out.json) {
      out.printJson(created);
      return;
    }
    out.info(`${out.c.green('✔')} Token ${out.c.bold(created.token.name)} (${created.token.id}, role ${created.token.role}) created.`);
    out.info(out.c.yellow('Copy the secret now; it is shown only this once:'));
    out.info(`\n  ${created.secret}\n`);
    out.info(`Use it with: ${cli()} login --url ${connection.url}   (paste it at the prompt, or pipe it with --token-stdin)`);
  },
);

const list = action<{ json?: boolean }>(
  command('list', "List your org's API tokens (never their secrets)", ['buildmesh admin token list']).addHelpText(
    'after',
    '\nJSON (--json): { tokens: TokenInfo[] }\n',
  ),
  async ({ out }) => {
    const { client } = await connect();
    const { tokens } = await client.listTokens();
    if (out.json) {
      out.printJson({ tokens });
      return;
    }
    const { c } = out;
    out.info(renderTable(tokens, [
      { header: 'ID', value: (t) => t.id },
      { header: 'NAME', value: (t) => t.name, max: 32 },
      { header: 'ROLE', value: (t) => t.role + (t.instanceAdmin ? ' (instance)' : '') },
      { header: 'CREATED', value: (t) => formatAgo(t.createdAt) },
      { header: 'LAST USED', value: (t) => formatAgo(t.lastUsedAt) },
      { header: 'STATE', value: (t) => (t.revokedAt ? 'revoked' : 'active'), color: (s) => (s.trim() === 'revoked' ? c.dim(s) : c.green(s)) },
    ], c));
  },
);

const revoke = action<{ json?: boolean }>(
  command('revoke', 'Revoke an API token at once', ['buildmesh admin token revoke tok_01jb7x6k2m3n4p5q6r7s8t9v0w'])
    .argument('<id>', 'token id (tok_…), from `buildmesh admin token list`')
    .addHelpText('after', '\nJSON (--json): { token: TokenInfo }\n'),
  async ({ out, args }) => {
    const { client } = await connect();
    const token = await client.revokeToken(args[0]!);
    if (out.json) {
      out.printJson({ token });
      return;
    }
    out.info(`${out.c.green('✔')} Token ${token.name} (${token.id}) revoked.`);
  },
);

export const tokenCommand = group('token', 'Manage API tokens', ['buildmesh admin token create ci --role member', 'buildmesh admin token list', 'buildmesh admin token revoke tok_01jb7x6k2m3n4p5q6r7s8t9v0w'], [create, list, revoke]);
