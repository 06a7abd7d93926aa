/**
 * `buildmesh logout`: forgets the current controller's saved login (another saved login becomes
 * current), or the one for --url, or every one with --all. Environment variables are not touched.
 */
import { action, command } from '../command-kit.js';
import { configPath, deleteConfig } from '../config.js';

export const logoutCommand = action<{ json?: boolean; url?: string; all?: boolean }>(
  command('logout', "Forget the current controller's saved login (or --url's, or --all)", ['buildmesh logout', 'buildmesh logout --url http://controller:4650', 'buildmesh logout --all'])
    .option('--url <url>', "forget this controller's login instead of the current one")
    .option('--all', 'forget every saved login')
    .addHelpText('after', '\nJSON (--json): { configPath, removed: boolean, urls: string[] }\n'),
  async ({ out, opts }) => {
    const path = configPath();
    const urls = await deleteConfig(path, { ...(opts.url ? { url: opts.url } : {}), all: opts.all === true });
    if (out.json) {
      out.printJson({ configPath: path, removed: urls.length > 0, urls });
      return;
    }
    out.info(urls.length > 0 ? `Logged out of ${urls.join(', ')} (${path})` : `Not logged in${opts.url ? ` to ${opts.url}` : ''} (${path}).`);
    if (process.env.BUILDMESH_TOKEN) out.warn('BUILDMESH_TOKEN is still set in this environment and will keep being used');
  },
);
