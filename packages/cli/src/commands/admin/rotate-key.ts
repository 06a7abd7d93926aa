/**
 * `buildmesh admin rotate-key` (instance admin): a new encryption key for the data dir's key file;
 * every stored credential, secret and webhook secret is re-sealed under it while the controller runs.
 */
import { action, command } from '../../command-kit.js';
import { connect } from '../../config.js';

export const rotateKeyCommand = action<{ json?: boolean }>(
  command('rotate-key', 'Replace the encryption key and re-seal every stored credential, secret and webhook secret under it', [
    'buildmesh admin rotate-key',
    'buildmesh admin rotate-key --json',
  ]).addHelpText(
    'after',
    '\nOnly for the key the controller keeps in its data dir (encryption.key). With BUILDMESH_ENCRYPTION_KEY or\n' +
      'BUILDMESH_ENCRYPTION_KEY_FILE (every PostgreSQL replica) it answers CONFLICT: see docs/operations.md.\n' +
      'Take a new backup afterwards: older backups hold the old key.\n' +
      'JSON (--json): { version, resealed: { project_credentials, secrets, builds, webhooks, instance_meta } }\n',
  ),
  async ({ out }) => {
    const { client } = await connect();
    const rotated = await client.rotateEncryptionKey();
    if (out.json) {
      out.printJson(rotated);
      return;
    }
    const total = Object.values(rotated.resealed).reduce((a: number, b) => a + Number(b), 0);
    out.info(`${out.c.green('✔')} Encryption key rotated to version ${rotated.version}; ${total} sealed values re-sealed (${Object.entries(rotated.resealed).map(([t, n]) => `${t} ${n}`).join(', ')}). The old key opens nothing stored.`);
  },
);
