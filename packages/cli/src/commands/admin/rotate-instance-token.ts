/**
 * `buildmesh admin rotate-instance-token`: replaces the instance admin token (instance admin only).
 * The new token is printed once; every earlier instance admin token, the one used here included,
 * stops working at once. When this CLI's saved login was the old token, it is updated.
 */
import { action, command } from '../../command-kit.js';
import { connect, writeConfig } from '../../config.js';
import { cli } from '../../invocation.js';

export const rotateInstanceTokenCommand = action<{ json?: boolean }>(
  command('rotate-instance-token', 'Replace the instance admin token; the new one is printed once, the old one stops working', [
    'buildmesh admin rotate-instance-token',
    'buildmesh admin rotate-instance-token --json',
  ]).addHelpText(
    'after',
    '\nIf the controller runs with BUILDMESH_ADMIN_TOKEN set, replace it with the new token (or unset it):\n' +
      'the old value is revoked and is not accepted again after a restart.\n' +
      'JSON (--json): { token: TokenInfo, secret, revoked: string[], loginUpdated: boolean }\n',
  ),
  async ({ out }) => {
    const { client, connection } = await connect();
    const rotated = await client.rotateInstanceAdminToken();
    // The saved login held the token that was just revoked: keep this CLI logged in.
    const loginUpdated = connection.tokenSource === 'config';
    if (loginUpdated) await writeConfig({ url: connection.url, token: rotated.secret });
    if (out.json) {
      out.printJson({ ...rotated, loginUpdated });
      return;
    }
    const { c } = out;
    out.info(`${c.green('✔')} New instance admin token ${rotated.token.id}; revoked ${rotated.revoked.join(', ') || 'none'}.`);
    out.info(c.yellow('Copy it now; it is shown only this once:'));
    out.info(`\n  ${rotated.secret}\n`);
    out.info(loginUpdated ? "This CLI's saved login now uses it." : `Log in with it where you used the old one: ${cli()} login --url ${connection.url}`);
    out.info('If the controller has BUILDMESH_ADMIN_TOKEN set, set it to the new token (or unset it) before its next restart.');
  },
);
