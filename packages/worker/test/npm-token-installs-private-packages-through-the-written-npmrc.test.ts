// NPM_TOKEN (a project secret) installs a private package as on EAS: with no .npmrc in the project,
// PREPARE_NPMRC writes one that names the configured registry and reads the token from
// $NPM_TOKEN, and the install authenticates through it. The registry is a stand-in on loopback
// that answers only requests bearing the token. A project with its own .npmrc keeps it, and then
// the same install is refused: npm itself never reads NPM_TOKEN, so the written file is the only path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { c as createTar } from 'tar';
import { planPipeline } from '../src/pipelines/index.js';
import { makeJob, makeTempDir, runPlanSimply } from './support/simple-phase-runner.js';

const TOKEN = 'npm_privateRegistryToken0123456789';
const PACKAGE = '@private/secret-pkg';

type T = { after(fn: () => void): void };

/** A registry serving one scoped package, to requests with `Authorization: Bearer <TOKEN>` only. */
async function privateRegistry(t: T): Promise<{ url: string; unauthorized: () => number }> {
  const dir = makeTempDir(t, 'buildmesh-registry-');
  mkdirSync(join(dir, 'package'));
  writeFileSync(join(dir, 'package', 'package.json'), JSON.stringify({ name: PACKAGE, version: '1.0.0', main: 'index.js' }));
  writeFileSync(join(dir, 'package', 'index.js'), "module.exports = 'from the private registry';\n");
  const tgz = join(dir, 'secret-pkg-1.0.0.tgz');
  await createTar({ gzip: true, file: tgz, cwd: dir, portable: true }, ['package']);
  const tarball = readFileSync(tgz);
  let refused = 0;
  const server: Server = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      refused += 1;
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' }).end('{"error":"authentication required"}');
      return;
    }
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (req.url === '/@private%2fsecret-pkg' || req.url === '/@private%2Fsecret-pkg' || req.url === `/${PACKAGE}`) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
        name: PACKAGE,
        'dist-tags': { latest: '1.0.0' },
        versions: {
          '1.0.0': {
            name: PACKAGE, version: '1.0.0', main: 'index.js',
            dist: {
              tarball: `${base}/@private/secret-pkg/-/secret-pkg-1.0.0.tgz`,
              shasum: createHash('sha1').update(tarball).digest('hex'),
              integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}`,
            },
          },
        },
      }));
      return;
    }
    if (req.url === '/@private/secret-pkg/-/secret-pkg-1.0.0.tgz') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(tarball);
      return;
    }
    res.writeHead(404).end('{}');
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  t.after(() => server.close());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, unauthorized: () => refused };
}

async function install(t: T, registry: string, ownNpmrc: string | null) {
  const workspaceRoot = makeTempDir(t);
  const projectDir = join(workspaceRoot, 'project');
  mkdirSync(projectDir);
  writeFileSync(join(projectDir, 'package.json'), JSON.stringify({
    name: 'app', version: '1.0.0', private: true, packageManager: 'npm@10.0.0', dependencies: { [PACKAGE]: '1.0.0' },
  }));
  if (ownNpmrc !== null) writeFileSync(join(projectDir, '.npmrc'), ownNpmrc);
  // Isolated from the machine's npm setup: no user .npmrc, a fresh cache, this registry.
  const userconfig = join(workspaceRoot, 'empty-user-npmrc');
  writeFileSync(userconfig, '');
  const env = { NPM_CONFIG_REGISTRY: registry, npm_config_userconfig: userconfig, npm_config_cache: join(workspaceRoot, 'npm-cache') };
  const job = makeJob('android', { env });
  const plan = await planPipeline({ job, projectDir, workspaceRoot, credentials: null, secrets: { NPM_TOKEN: TOKEN } });
  const setup = { ...plan, phases: plan.phases.filter((p) => p.name === 'PREPARE_NPMRC' || p.name === 'INSTALL_DEPENDENCIES') };
  const run = await runPlanSimply(setup, job, projectDir, workspaceRoot);
  return { plan, run, projectDir };
}

void test('NPM_TOKEN and no .npmrc: the written .npmrc authenticates the install to the private registry', async (t) => {
  const registry = await privateRegistry(t);
  const { plan, run, projectDir } = await install(t, registry.url, null);
  assert.deepEqual(plan.phases.slice(0, 1).map((p) => p.name), ['PREPARE_NPMRC']);
  assert.equal(run.succeeded, true, JSON.stringify(run.phases.map((p) => [p.name, p.result, p.lines.slice(-15)]), null, 2));
  assert.equal(
    readFileSync(join(projectDir, 'node_modules', '@private', 'secret-pkg', 'index.js'), 'utf8'),
    "module.exports = 'from the private registry';\n",
  );
  // The file names the registry and refers to the variable: the token itself is not written to disk.
  const npmrc = readFileSync(join(projectDir, '.npmrc'), 'utf8');
  assert.equal(npmrc, `//${registry.url.slice('http://'.length)}:_authToken=\${NPM_TOKEN}\n`);
  assert.ok(!npmrc.includes(TOKEN));
  assert.equal(statSync(join(projectDir, '.npmrc')).mode & 0o777, 0o600);
});

void test("a project's own .npmrc is kept, and without the written one the same install is refused", async (t) => {
  const registry = await privateRegistry(t);
  const own = 'fund=false\n';
  const { plan, run, projectDir } = await install(t, registry.url, own);
  assert.ok(!plan.phases.some((p) => p.name === 'PREPARE_NPMRC'));
  assert.equal(readFileSync(join(projectDir, '.npmrc'), 'utf8'), own);
  assert.equal(run.succeeded, false);
  assert.ok(registry.unauthorized() > 0, 'npm reached the registry without the token');
  assert.ok(!existsSync(join(projectDir, 'node_modules', '@private', 'secret-pkg')));
});
