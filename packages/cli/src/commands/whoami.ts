/** `buildmesh whoami`: which controller, org and token the CLI uses, as the controller sees them. */
import { action, command } from '../command-kit.js';
import { connect } from '../config.js';
import { renderFields } from '../output.js';

export const whoamiCommand = action<{ json?: boolean }>(
  command('whoami', 'Show the controller, org and token role in use', ['buildmesh whoami', 'buildmesh whoami --json']),
  async ({ out }) => {
    const { client, connection } = await connect();
    const me = await client.whoami();
    if (out.json) {
      out.printJson({ url: connection.url, urlSource: connection.urlSource, tokenSource: connection.tokenSource, org: me.org, token: me.token });
      return;
    }
    out.info(renderFields([
      ['controller', `${connection.url} (from ${connection.urlSource === 'env' ? 'BUILDMESH_URL' : connection.urlSource})`],
      ['org', `${me.org.name} (${me.org.id})`],
      ['token', `${me.token.name} (${me.token.id})`],
      ['role', me.token.role + (me.token.instanceAdmin ? ' · instance admin' : '')],
      ['token from', connection.tokenSource === 'env' ? 'BUILDMESH_TOKEN' : 'saved config'],
    ], out.c));
  },
);
