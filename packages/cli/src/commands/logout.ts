/** `buildmesh logout`: forgets the saved URL and token (environment variables are not touched). */
import { action, command } from '../command-kit.js';
import { configPath, deleteConfig } from '../config.js';

export const logoutCommand = action<{ json?: boolean }>(
  command('logout', 'Remove the saved controller URL and token', ['buildmesh logout']),
  async ({ out }) => {
    const path = configPath();
    const removed = await deleteConfig(path);
    if (out.json) {
      out.printJson({ configPath: path, removed });
      return;
    }
    out.info(removed ? `Logged out: removed ${path}` : `Not logged in (no ${path}).`);
    if (process.env.BUILDMESH_TOKEN) out.warn('BUILDMESH_TOKEN is still set in this environment and will keep being used');
  },
);
