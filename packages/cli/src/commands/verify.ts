/**
 * `buildmesh verify <artifact> [--build ID] [--key FILE] [--statement FILE]`: checks an artifact's
 * signed provenance — the DSSE signature (Ed25519, over the in-toto statement) with the instance's
 * published key or the one in --key, and that the statement's subject digest is the file's sha256.
 * With --statement and --key nothing is fetched: it works offline.
 */
import { createHash, createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { dssePae, IN_TOTO_PAYLOAD_TYPE, type DsseEnvelope, type ProvenanceKey, type ProvenanceStatement } from '@buildmesh/protocol';
import { action, command } from '../command-kit.js';
import { connect } from '../config.js';
import { resolveBuildRef } from '../build-ref.js';
import { CliError, renderFields } from '../output.js';

interface VerifyOptions {
  json?: boolean;
  build?: string;
  key?: string;
  statement?: string;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** A PEM public key, or the JSON document of /.well-known/buildmesh-provenance-keys. */
async function readKeys(path: string): Promise<Map<string, KeyObject>> {
  const text = await readFile(path, 'utf8');
  const pems = text.trimStart().startsWith('{') ? (JSON.parse(text) as { keys: ProvenanceKey[] }).keys.map((k) => k.publicKeyPem) : [text];
  const keys = new Map<string, KeyObject>();
  for (const pem of pems) {
    const key = createPublicKey(pem);
    keys.set(createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex'), key);
  }
  return keys;
}

export const verifyCommand = action<VerifyOptions>(
  command('verify', "Check an artifact's signed provenance: the signature and the file's sha256", [
    'buildmesh verify build-artifacts/bld_01jb…/app.apk --build bld_01jb…',
    'buildmesh verify app.apk --statement app.apk.intoto.json --key buildmesh-provenance.pem   # offline',
  ])
    .argument('<artifact>', 'the artifact file')
    .option('--build <id>', 'the build that made it (latest, or a unique id prefix); the statement is fetched from the controller')
    .option('--key <file>', 'the public key (PEM), or the saved /.well-known/buildmesh-provenance-keys document; default: fetched')
    .option('--statement <file>', 'the DSSE envelope saved earlier (the `envelope` of --json); default: fetched')
    .addHelpText('after', '\nExit status: 0 verified, 1 otherwise.\nJSON (--json): { ok, keyid, sha256, statement, envelope }\n'),
  async ({ out, opts, args }) => {
    const file = args[0]!;
    const sha256 = await sha256File(file).catch((err: NodeJS.ErrnoException) => {
      throw new CliError('FILE_UNREADABLE', `cannot read ${file}: ${err.code ?? err.message}`);
    });
    let envelope: DsseEnvelope;
    let keys: Map<string, KeyObject>;
    const online = opts.statement === undefined || opts.key === undefined ? await connect() : undefined;
    if (opts.statement !== undefined) {
      envelope = JSON.parse(await readFile(opts.statement, 'utf8')) as DsseEnvelope;
    } else {
      if (!opts.build) throw new CliError('BUILD_REQUIRED', 'say which build made the artifact', 'add --build ID (or --statement FILE)');
      const client = online!.client;
      const buildId = await resolveBuildRef(client, opts.build);
      const { artifacts } = await client.listArtifacts(buildId);
      const artifact = artifacts.find((a) => a.sha256 === sha256);
      if (!artifact) {
        throw new CliError('PROVENANCE_DIGEST_MISMATCH', `no artifact of build ${buildId} has this file's sha256 (${sha256}): the file is not what the build made`);
      }
      envelope = (await client.artifactProvenance(buildId, artifact.id)).envelope;
    }
    if (opts.key !== undefined) {
      keys = await readKeys(opts.key);
    } else {
      const published = await online!.client.provenanceKeys();
      keys = new Map(published.keys.map((k) => [k.keyid, createPublicKey(k.publicKeyPem)]));
    }
    const payload = Buffer.from(envelope.payload ?? '', 'base64');
    const pae = dssePae(envelope.payloadType ?? '', payload);
    const good = envelope.payloadType === IN_TOTO_PAYLOAD_TYPE && (envelope.signatures ?? []).find((s) => {
      const key = keys.get(s.keyid);
      return key !== undefined && verifySignature(null, pae, key, Buffer.from(s.sig, 'base64'));
    });
    if (!good) {
      throw new CliError('PROVENANCE_SIGNATURE_INVALID', `the statement's signature does not verify with ${opts.key ? `the key in ${opts.key}` : "the controller's published keys"}`, 'the statement was altered, or was signed with another key');
    }
    const statement = JSON.parse(payload.toString('utf8')) as ProvenanceStatement;
    if (!statement.subject?.some((s) => s.digest?.sha256 === sha256)) {
      throw new CliError('PROVENANCE_DIGEST_MISMATCH', `${basename(file)} has sha256 ${sha256}, which the signed statement does not name: the file is not what the build made`);
    }
    if (out.json) return out.printJson({ ok: true, keyid: good.keyid, sha256, statement, envelope });
    const { buildDefinition, runDetails } = statement.predicate;
    const source = buildDefinition.resolvedDependencies[0]?.digest ?? {};
    out.info(`${out.c.green('✔')} ${basename(file)}: signature valid (key ${good.keyid.slice(0, 16)}…), sha256 matches`);
    out.info(renderFields([
      ['build', String(buildDefinition.internalParameters.buildId ?? '')],
      ['platform', String(buildDefinition.externalParameters.platform ?? '')],
      ['source', source.sha256 ?? null],
      ['commit', source.gitCommit ?? null],
      ['builder', runDetails.builder.id],
      ['ran', `${runDetails.metadata.startedOn} → ${runDetails.metadata.finishedOn}`],
    ], out.c));
  },
);
