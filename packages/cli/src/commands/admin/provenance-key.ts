/**
 * `buildmesh admin provenance-key export|rotate`: the instance's provenance signing keys. export
 * writes the public keys (current and retired) for offline `buildmesh verify --key`; rotate (instance
 * admin) makes a new signing key, the old ones still verify what they signed.
 */
import { action, command, group } from '../../command-kit.js';
import { connect } from '../../config.js';

const exportKeys = action<{ json?: boolean; current?: boolean }>(
  command('export', 'Print the public provenance keys: the document for `verify --key` (or the current key as PEM)', [
    'buildmesh admin provenance-key export > buildmesh-provenance-keys.json',
    'buildmesh admin provenance-key export --current > buildmesh-provenance.pem',
  ]).option('--current', 'only the key signing now, as PEM'),
  async ({ out, opts }) => {
    const { client } = await connect();
    const doc = await client.provenanceKeys();
    if (opts.current) {
      const current = doc.keys.filter((k) => k.retiredAt === null).at(-1);
      if (current) process.stdout.write(current.publicKeyPem);
      return;
    }
    out.printJson(doc);
  },
);

const rotate = action<{ json?: boolean }>(
  command('rotate', 'Sign provenance with a new key from now on (instance admin); old statements still verify with the old key', [
    'buildmesh admin provenance-key rotate',
  ]).addHelpText('after', '\nJSON (--json): ProvenanceKey { keyid, algorithm, publicKeyPem, createdAt, retiredAt }\n'),
  async ({ out }) => {
    const { client } = await connect();
    const key = await client.rotateProvenanceKey();
    if (out.json) return out.printJson(key);
    out.info(`${out.c.green('✔')} New provenance signing key ${key.keyid}; earlier keys are retired and stay published for verification.`);
  },
);

export const provenanceKeyCommand = group('provenance-key', 'Export or rotate the provenance signing key', [
  'buildmesh admin provenance-key export --current > buildmesh-provenance.pem',
  'buildmesh admin provenance-key rotate',
], [exportKeys, rotate]);
