/** `buildmesh admin org create|list`: tenants (instance admin only). */
import { action, command, group } from '../../command-kit.js';
import { connect } from '../../config.js';
import { formatAgo, renderTable } from '../../output.js';
import { cli } from '../../invocation.js';

const create = action<{ json?: boolean }>(
  command('create', 'Create an org (tenant); needs the instance admin token', ['buildmesh admin org create acme'])
    .argument('<name>', 'org name: lower-case letters, digits, . _ -')
    .addHelpText('after', '\nJSON (--json): { org: { id, name, createdAt } }\n'),
  async ({ out, args }) => {
    const { client } = await connect();
    const org = await client.createOrg(args[0]!);
    if (out.json) {
      out.printJson({ org });
      return;
    }
    out.info(`${out.c.green('✔')} Org ${out.c.bold(org.name)} created (${org.id})`);
    out.info(`Next: give it an admin token: ${cli()} admin token create ${org.name}-admin --role admin --org ${org.id}`);
  },
);

const list = action<{ json?: boolean }>(
  command('list', 'List orgs (the instance admin sees all; others see their own)', ['buildmesh admin org list']).addHelpText(
    'after',
    '\nJSON (--json): { orgs: [{ id, name, createdAt }] }\n',
  ),
  async ({ out }) => {
    const { client } = await connect();
    const { orgs } = await client.listOrgs();
    if (out.json) {
      out.printJson({ orgs });
      return;
    }
    out.info(renderTable(orgs, [
      { header: 'ID', value: (o) => o.id },
      { header: 'NAME', value: (o) => o.name },
      { header: 'CREATED', value: (o) => formatAgo(o.createdAt) },
    ], out.c));
  },
);

export const orgCommand = group('org', 'Manage orgs (tenants)', ['buildmesh admin org create acme', 'buildmesh admin org list --json'], [create, list]);
