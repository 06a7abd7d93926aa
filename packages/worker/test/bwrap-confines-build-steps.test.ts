import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { BwrapExecutor } from '../src/sandbox/bwrap.js';
import type { Executor } from '../src/sandbox/executor.js';
import { NoneExecutor } from '../src/sandbox/none.js';
import { createWorkspace, type Workspace } from '../src/workspace/workspace.js';
import { bwrapSkipper, TEST_BWRAP_PATH } from '../../../test/helpers/bwrap.js';

const bwrap = await bwrapSkipper();

// Not os.tmpdir(): the sandbox covers /tmp with its own tmpfs, so a "credential" below /tmp would
// be unreadable for that reason alone. /var/tmp stays visible unless hidden, so a failed read
// here proves that hiddenPaths did it (the controls below show the same read succeeding otherwise).
let root: string;
let workspace: Workspace;
let credentialDir: string;
let outsideFile: string;
let tcpServer: Server;
let tcpPort: number;
const received: string[] = [];

before(async () => {
  if (!bwrap.runs) return;
  root = await mkdtemp('/var/tmp/bm-bwrap-');
  workspace = await createWorkspace(path.join(root, 'work'), 'att_confined');
  credentialDir = path.join(root, 'worker-config');
  await mkdir(credentialDir);
  await writeFile(path.join(credentialDir, 'credential.json'), '{"token":"worker-secret-token"}');
  outsideFile = path.join(root, 'outside', 'sentinel.txt');
  await mkdir(path.dirname(outsideFile));
  await writeFile(outsideFile, 'original');
  tcpServer = createServer((socket) => socket.on('data', (data) => received.push(data.toString().trim())));
  await new Promise<void>((resolve) => tcpServer.listen(0, '127.0.0.1', resolve));
  tcpPort = (tcpServer.address() as { port: number }).port;
});
after(async () => {
  if (root === undefined) return;
  tcpServer.close();
  await rm(root, { recursive: true, force: true });
});

async function sh(executor: Executor, script: string, network = false): Promise<{ exitCode: number | null; output: string }> {
  const lines: string[] = [];
  const result = await executor.run({
    argv: ['bash', '-c', script],
    cwd: workspace.projectDir,
    env: {},
    network,
    onLine: (_stream, line) => lines.push(line),
  });
  return { exitCode: result.exitCode, output: lines.join('\n') };
}

async function withExecutor<T>(executor: Executor, use: (executor: Executor) => Promise<T>): Promise<T> {
  await executor.prepare(workspace.root);
  try {
    return await use(executor);
  } finally {
    await executor.dispose();
  }
}

const confined = (hiddenPaths: string[] = [], toolchainPaths: string[] = []) => new BwrapExecutor({ hiddenPaths, toolchainPaths, killGraceMs: 1000, bwrapPath: TEST_BWRAP_PATH });

void test('a step cannot read the worker credential, even inside a bound toolchain dir when it is hidden', { skip: bwrap.skip() }, async () => {
  const credential = path.join(credentialDir, 'credential.json');
  const read = `cat ${credential}`;
  // Control: unconfined, the file is readable.
  assert.match((await withExecutor(new NoneExecutor(), (e) => sh(e, read))).output, /worker-secret-token/);
  // Nothing outside the minimal root exists inside the sandbox.
  const absent = await withExecutor(confined(), (e) => sh(e, read));
  assert.notEqual(absent.exitCode, 0);
  assert.doesNotMatch(absent.output, /worker-secret-token/);
  // A toolchain dir that contains it brings it in (control: world-readable, so the build user reads it)...
  await chmod(root, 0o755);
  await chmod(credentialDir, 0o755);
  await chmod(credential, 0o644);
  assert.match((await withExecutor(confined([], [root]), (e) => sh(e, read))).output, /worker-secret-token/);
  // ...unless it is hidden.
  const hidden = await withExecutor(confined([credentialDir], [root]), (e) => sh(e, read));
  assert.notEqual(hidden.exitCode, 0);
  assert.doesNotMatch(hidden.output, /worker-secret-token/);
});

void test('a step cannot unmount the cover of a hidden path', { skip: bwrap.skip() }, async () => {
  await chmod(root, 0o755);
  await chmod(credentialDir, 0o755);
  await chmod(path.join(credentialDir, 'credential.json'), 0o644);
  const result = await withExecutor(confined([credentialDir], [root]), (e) =>
    sh(e, `umount ${credentialDir}; umount -l ${credentialDir}; cat ${path.join(credentialDir, 'credential.json')}; echo step-ran`),
  );
  assert.match(result.output, /step-ran/);
  assert.doesNotMatch(result.output, /worker-secret-token/);
});

void test('a step can write only inside its workspace', { skip: bwrap.skip() }, async () => {
  const usrProbe = `/usr/bm-sandbox-test-${randomBytes(4).toString('hex')}`;
  const writeOutside = `echo pwned > ${outsideFile}; touch ${usrProbe}; echo inside > ${workspace.projectDir}/inside.txt`;
  try {
    // Control: this worker runs as root, so unconfined both writes succeed.
    await withExecutor(new NoneExecutor(), (e) => sh(e, writeOutside));
    assert.equal(await readFile(outsideFile, 'utf8'), 'pwned\n');
    assert.ok(existsSync(usrProbe), 'control: the unconfined step should have written to /usr');
    await writeFile(outsideFile, 'original');
    await rm(usrProbe, { force: true });
    await rm(path.join(workspace.projectDir, 'inside.txt'));

    const result = await withExecutor(confined(), (e) => sh(e, writeOutside));
    assert.equal(await readFile(outsideFile, 'utf8'), 'original', 'the step wrote outside its workspace');
    assert.equal(existsSync(usrProbe), false, 'the step wrote to /usr');
    assert.match(result.output, /Read-only file system|No such file or directory/);
    assert.equal(await readFile(path.join(workspace.projectDir, 'inside.txt'), 'utf8'), 'inside\n');
  } finally {
    await rm(usrProbe, { force: true });
  }
});

void test('a step has no network unless the request asks for it', { skip: bwrap.skip() }, async () => {
  const connect = (word: string) => `echo ${word} > /dev/tcp/127.0.0.1/${tcpPort}`;
  const offline = await withExecutor(confined(), (e) => sh(e, connect('offline'), false));
  assert.notEqual(offline.exitCode, 0, 'connected to the host with network off');

  const online = await withExecutor(confined(), (e) => sh(e, connect('online'), true));
  assert.equal(online.exitCode, 0, online.output);
  for (let i = 0; i < 50 && !received.includes('online'); i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(received, ['online']);
});
