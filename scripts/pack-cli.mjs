// Packs the built CLI (packages/cli/dist + bin) into an npm-installable tarball the controller serves at
// /cli/buildmesh.tgz: packages/cli/release/buildmesh-<version>.tgz and its .sha256. The package is
// self-contained — the bundle carries every pure-JS dependency — and declares no dependency at all, so
// `npm install -g <url>` needs nothing but the controller (no registry). The server-side externals
// (better-sqlite3, pg, @aws-sdk/*) are named in its README: only a machine that runs `controller` or `up`
// installs them (`buildmesh up` says which is missing). Called by build-cli.mjs.
import { createHash } from 'node:crypto';
import { copyFileSync, createReadStream, createWriteStream, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { create } from 'tar';

const root = new URL('..', import.meta.url).pathname;
const cliDir = join(root, 'packages/cli');
export const releaseDir = join(cliDir, 'release');

/** Versions of the externals, as the workspace packages pin them. */
function serverPeers() {
  const controller = JSON.parse(readFileSync(join(root, 'packages/controller/package.json'), 'utf8')).dependencies;
  const names = Object.keys(controller).filter((n) => /^(better-sqlite3|pg|@aws-sdk\/.*)$/.test(n));
  return Object.fromEntries(names.map((n) => [n, controller[n]]));
}

export async function packCli() {
  const cli = JSON.parse(readFileSync(join(cliDir, 'package.json'), 'utf8'));
  const version = cli.version;
  // Per process: test runs of several people may rebuild at once.
  const stage = join(releaseDir, `.stage-${process.pid}`);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(join(stage, 'bin'), { recursive: true });
  mkdirSync(join(stage, 'dist'), { recursive: true });
  copyFileSync(join(cliDir, 'bin/buildmesh.js'), join(stage, 'bin/buildmesh.js'));
  // Source maps (two thirds of dist) stay out: the package is for running, not debugging.
  for (const name of readdirSync(join(cliDir, 'dist'))) if (name.endsWith('.js')) copyFileSync(join(cliDir, 'dist', name), join(stage, 'dist', name));
  const peers = serverPeers();
  const manifest = {
    name: 'buildmesh',
    version,
    description: 'BuildMesh CLI: build Expo apps on your own BuildMesh controller and workers',
    type: 'module',
    bin: { buildmesh: 'bin/buildmesh.js' },
    engines: { node: '>=20.19' },
    files: ['bin', 'dist', 'README.md'],
  };
  writeFileSync(join(stage, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
  writeFileSync(
    join(stage, 'README.md'),
    '# buildmesh\n\nThe BuildMesh CLI, as served by a BuildMesh controller at `/cli/buildmesh.tgz`.\n\n' +
      '```sh\nnpm install -g http://controller:4650/cli/buildmesh.tgz\nbuildmesh login --url http://controller:4650\nbuildmesh build --platform android\n```\n\n' +
      '`buildmesh worker` needs nothing more. `buildmesh controller` and `buildmesh up` also need these packages ' +
      'installed beside it (`npm install -g NAME@VERSION`): ' +
      Object.entries(peers).map(([n, v]) => `\`${n}@${v}\``).join(', ') +
      ' (a missing one is named when `controller` or `up` starts).\n',
  );

  const name = `buildmesh-${version}.tgz`;
  const tmp = join(releaseDir, `${name}.${process.pid}.tmp`);
  // Fixed mtimes and owners: the same bundle packs to the same bytes.
  try {
    await pipeline(create({ gzip: { level: 9 }, cwd: stage, prefix: 'package', portable: true, mtime: new Date('2000-01-01T00:00:00Z') }, ['package.json', 'README.md', 'bin', 'dist']), createWriteStream(tmp));
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  const hash = createHash('sha256');
  await pipeline(createReadStream(tmp), hash);
  const sha256 = hash.digest('hex');
  // The tarball first, then its sum: a reader that finds the sum finds the matching tarball.
  renameSync(tmp, join(releaseDir, name));
  const sumTmp = `${tmp}.sha256`;
  writeFileSync(sumTmp, `${sha256}  ${name}\n`);
  renameSync(sumTmp, join(releaseDir, `${name}.sha256`));
  return { file: join(releaseDir, name), version, sha256 };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const packed = await packCli();
  process.stdout.write(`${packed.file}\n${packed.sha256}\n`);
}
