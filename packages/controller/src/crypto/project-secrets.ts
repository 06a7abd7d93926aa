/**
 * How a project secret is sealed, and opened for the worker leasing a build. A string secret's
 * sealed plaintext is its UTF-8 value. A file secret's is the file's bytes after a marker, NUL
 * "file" NUL: string values can never hold NUL (protocol env-names.ts), so the two never mix and
 * no column is needed for the type; secrets stored before file secrets existed read as strings.
 */
import type { AttemptSecrets, SecretType, SecretValue } from '@buildmesh/protocol';
import type { Keyring } from './keyring.js';

const FILE_MARKER = Buffer.from('\0file\0', 'latin1');

export function sealSecret(keyring: Keyring, body: SecretValue): Buffer {
  if (body.type === 'file') return keyring.seal(Buffer.concat([FILE_MARKER, Buffer.from(body.value, 'base64')]));
  return keyring.seal(Buffer.from(body.value, 'utf8'));
}

export function openSecret(keyring: Keyring, sealed: Buffer): { type: SecretType; value: Buffer } {
  const plain = keyring.open(sealed);
  if (plain.subarray(0, FILE_MARKER.length).equals(FILE_MARKER)) return { type: 'file', value: plain.subarray(FILE_MARKER.length) };
  return { type: 'string', value: plain };
}

/** A project's secrets as the worker reads them: values by name, and file contents (base64) by name. */
export function openProjectSecrets(
  keyring: Keyring,
  sealed: ReadonlyArray<{ name: string; sealed: Buffer }>,
): Pick<AttemptSecrets, 'secrets' | 'files'> {
  const secrets: Record<string, string> = {};
  const files: Record<string, string> = {};
  for (const s of sealed) {
    const { type, value } = openSecret(keyring, s.sealed);
    if (type === 'file') files[s.name] = value.toString('base64');
    else secrets[s.name] = value.toString('utf8');
  }
  return Object.keys(files).length > 0 ? { secrets, files } : { secrets };
}
