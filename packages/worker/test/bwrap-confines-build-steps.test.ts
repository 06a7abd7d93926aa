import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { BwrapExecutor } from '../src/sandbox/bwrap.js';
import type { Executor } from '../src/sandbox/executor.js';
import { NoneExecutor } from '../src/sandbox/none.js';
import { probeBwrap } from '../src/sandbox/select.js';
import { createWorkspace, type Workspace } from '../src/workspace/workspace.js';

const probe = process.platform === 'linux' ? await probeBwrap() : { ok: false, detail: 'not Linux' };
// CI installs bubblewrap: there a missing sandbox must fail the run, not skip it.
const skip = probe.ok || process.env.CI ? false : `bwrap unusable: ${probe.detail}`;

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
  if (skip) return;
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
  if (skip) return;
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

const bwrap = (hiddenPaths: string[] = []) => new BwrapExecutor({ hiddenPaths, killGraceMs: 1000 });

void test('a step cannot read the worker credential in a hidden path', { skip }, async () => {
  const credential = path.join(credentialDir, 'credential.json');
  const read = `cat ${credential}`;
  // Controls: unconfined, and in bwrap without hiding, the file is readable.
  assert.match((await withExecutor(new NoneExecutor(), (e) => sh(e, read))).output, /worker-secret-token/);
  assert.match((await withExecutor(bwrap(), (e) => sh(e, read))).output, /worker-secret-token/);

  const hidden = await withExecutor(bwrap([credentialDir]), (e) => sh(e, read));
  assert.notEqual(hidden.exitCode, 0);
  assert.doesNotMatch(hidden.output, /worker-secret-token/);
});

void test('a step running as root cannot unmount the cover of a hidden path', { skip }, async () => {
  const result = await withExecutor(bwrap([credentialDir]), (e) =>
    sh(e, `umount ${credentialDir}; umount -l ${credentialDir}; cat ${path.join(credentialDir, 'credential.json')}`),
  );
  assert.doesNotMatch(result.output, /worker-secret-token/);
});

void test('a step can write only inside its workspace', { skip }, async () => {
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

    const result = await withExecutor(bwrap(), (e) => sh(e, writeOutside));
    assert.equal(await readFile(outsideFile, 'utf8'), 'original', 'the step wrote outside its workspace');
    assert.equal(existsSync(usrProbe), false, 'the step wrote to /usr');
    assert.match(result.output, /Read-only file system|No such file or directory/);
    assert.equal(await readFile(path.join(workspace.projectDir, 'inside.txt'), 'utf8'), 'inside\n');
  } finally {
    await rm(usrProbe, { force: true });
  }
});

void test('a step has no network unless the request asks for it', { skip }, async () => {
  const connect = (word: string) => `echo ${word} > /dev/tcp/127.0.0.1/${tcpPort}`;
  const offline = await withExecutor(bwrap(), (e) => sh(e, connect('offline'), false));
  assert.notEqual(offline.exitCode, 0, 'connected to the host with network off');

  const online = await withExecutor(bwrap(), (e) => sh(e, connect('online'), true));
  assert.equal(online.exitCode, 0, online.output);
  for (let i = 0; i < 50 && !received.includes('online'); i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(received, ['online']);
});
