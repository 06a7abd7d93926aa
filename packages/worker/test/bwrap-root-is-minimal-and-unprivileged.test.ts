/**
 * The sandbox-escape corpus under bwrap, with the worker's real hidden-path list and toolchains:
 * a step runs as an unprivileged user on a minimal root, so it cannot read /etc/shadow, /root, the
 * worker credential, a controller data dir, another workspace or another process's environment,
 * cannot signal a host process, has no network when it is off, and leaves no process behind
 * (setsid, nohup, double fork). Each attempt has a control run under the none executor (this test
 * runs as root there) where the same read or survival succeeds, so a pass means the sandbox did it.
 * Prints the number of attempts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { hiddenPaths } from '../src/index.js';
import { resolveWorkerOptions } from '../src/config.js';
import { BwrapExecutor, toolchainPaths } from '../src/sandbox/bwrap.js';
import type { Executor } from '../src/sandbox/executor.js';
import { NoneExecutor } from '../src/sandbox/none.js';
import { createWorkspace, type Workspace } from '../src/workspace/workspace.js';
import { bwrapSkipper, TEST_BWRAP_PATH } from '../../../test/helpers/bwrap.js';

const bwrap = await bwrapSkipper();
const asRoot = process.getuid?.() === 0;
let attempts = 0;

let dataDir: string;
let own: Workspace;
let hidden: string[];
let hostHelper: ChildProcess;
const hostSecret = `host-${randomBytes(8).toString('hex')}`;
let server: Server;
let port: number;
const connections: string[] = [];

before(async () => {
  if (!bwrap.runs) return;
  // The layout `buildmesh up` uses: workspaces, worker config and controller files in one data dir.
  dataDir = await mkdtemp('/var/tmp/bm-minimal-root-');
  const options = resolveWorkerOptions(
    { url: 'http://127.0.0.1:1', workDir: path.join(dataDir, 'worker', 'workspaces'), configDir: path.join(dataDir, 'worker'), hidePaths: [dataDir] },
    {},
  );
  hidden = hiddenPaths(options);
  await mkdir(path.join(dataDir, 'worker'));
  await writeFile(path.join(dataDir, 'encryption.key'), 'controller-key-material\n', { mode: 0o644 });
  await writeFile(path.join(dataDir, 'worker', 'worker-0123.json'), '{"credential":"worker-credential-material"}\n', { mode: 0o644 });
  const victim = await createWorkspace(options.workDir, 'att_victim');
  await writeFile(path.join(victim.projectDir, 'keystore.json'), '{"password":"victim-keystore-material"}', { mode: 0o644 });
  own = await createWorkspace(options.workDir, 'att_attacker');
  // A host process with a secret in its environment, as every buildmesh process has a token.
  hostHelper = spawn('sleep', ['300'], { env: { PATH: '/usr/bin:/bin', BUILDMESH_ADMIN_TOKEN: hostSecret }, stdio: 'ignore' });
  server = createServer((socket) => socket.on('data', (d) => connections.push(d.toString().trim())));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
after(async () => {
  hostHelper?.kill('SIGKILL');
  server?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  console.log(`sandbox escape corpus (minimal root, unprivileged, no survivors): ${attempts} attempts`);
});

const confined = (): Executor => new BwrapExecutor({ hiddenPaths: hidden, toolchainPaths: toolchainPaths(), bwrapPath: TEST_BWRAP_PATH, killGraceMs: 500 });
const unconfined = (): Executor => new NoneExecutor({ killGraceMs: 500 });

async function sh(executor: Executor, script: string, network = false): Promise<{ exitCode: number | null; output: string }> {
  await executor.prepare(own.root);
  const lines: string[] = [];
  try {
    const result = await executor.run({ argv: ['bash', '-c', script], cwd: own.projectDir, env: {}, network, onLine: (_s, l) => lines.push(l) });
    return { exitCode: result.exitCode, output: lines.join('\n') };
  } finally {
    await executor.dispose();
  }
}

/** The read leaks `secret` unconfined (control) and fails in the sandbox. */
async function assertUnreadable(what: string, script: string, secret: RegExp): Promise<void> {
  attempts++;
  if (asRoot) assert.match((await sh(unconfined(), script)).output, secret, `control: unconfined, ${what} is readable`);
  const attempt = await sh(confined(), script);
  assert.doesNotMatch(attempt.output, secret, `${what} was readable from the sandbox`);
}

void test('a step cannot read the host’s secrets, the worker’s or another build’s files', { skip: bwrap.skip() }, async () => {
  await assertUnreadable('/etc/shadow', 'cat /etc/shadow', /^root:/m);
  await assertUnreadable('/root', 'ls -a /root | sed "s/^/entry:/"', /^entry:\.\.$/m);
  await assertUnreadable('the controller data dir', `cat ${path.join(dataDir, 'encryption.key')}`, /controller-key-material/);
  await assertUnreadable('the worker credential', `cat ${path.join(dataDir, 'worker', 'worker-0123.json')}`, /worker-credential-material/);
  await assertUnreadable('another workspace', `cat ${path.join(dataDir, 'worker', 'workspaces', 'attempts', 'att_victim', 'project', 'keystore.json')}`, /victim-keystore-material/);
  await assertUnreadable('/proc/*/environ of host processes', 'cat /proc/[0-9]*/environ 2>/dev/null | tr "\\0" "\\n"', new RegExp(hostSecret));
});

void test('a step runs as an unprivileged user and cannot signal host processes', { skip: bwrap.skip() }, async () => {
  attempts++;
  const { output } = await sh(confined(), 'id -u; grep CapEff /proc/self/status');
  assert.doesNotMatch(output.split('\n')[0] ?? '', /^0$/, 'the step runs as root');
  assert.match(output, /CapEff:\s+0+$/m, 'the step has capabilities');
  if (asRoot) {
    // On the host the step's processes belong to the build user, not root.
    const marker = `${4000 + Math.floor(Math.random() * 1000)}.${Math.floor(Math.random() * 1000)}`;
    const executor = confined();
    await executor.prepare(own.root);
    const run = executor.run({ argv: ['sleep', marker], cwd: own.projectDir, env: {}, network: false, onLine: () => {} });
    let uid: string | undefined;
    for (let i = 0; i < 100 && uid === undefined; i++) {
      await sleep(20);
      uid = hostPidsOf(`sleep\0${marker}`).map((pid) => readFileSync(`/proc/${pid}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)?.[1])[0];
    }
    await executor.dispose();
    await run;
    assert.equal(uid, '65534', 'on the host, the step runs as the build user');
  }
  attempts++;
  const kill = await sh(confined(), `kill -9 ${hostHelper.pid} && echo killed`);
  assert.doesNotMatch(kill.output, /killed/);
  assert.equal(hostHelper.exitCode, null, 'the host process was killed from the sandbox');
});

void test('the sandbox root holds the system, a few /etc entries and the workspace only', { skip: bwrap.skip() }, async () => {
  attempts++;
  const { output } = await sh(confined(), 'ls -A /; echo ---; ls -A /etc');
  const [top = '', etc = ''] = output.split('---');
  const topEntries = top.split('\n').filter(Boolean);
  for (const entry of topEntries) assert.ok(['bin', 'dev', 'etc', 'lib', 'lib32', 'lib64', 'libx32', 'proc', 'sbin', 'tmp', 'usr', 'var', 'opt'].includes(entry), `unexpected /${entry} in the sandbox`);
  for (const forbidden of ['root', 'home', 'srv', 'mnt', 'boot']) assert.ok(!topEntries.includes(forbidden), `/${forbidden} is visible`);
  for (const forbidden of ['shadow', 'gshadow', 'sudoers', 'ssh', 'ssl/private']) assert.ok(!etc.split('\n').includes(forbidden), `/etc/${forbidden} is visible`);
  assert.ok(etc.includes('resolv.conf') && etc.includes('passwd'), 'DNS and user lookup are there');
});

void test('no network when it is off', { skip: bwrap.skip() }, async () => {
  attempts++;
  const connect = `echo hello > /dev/tcp/127.0.0.1/${port}`;
  assert.equal((await sh(unconfined(), connect)).exitCode, 0, 'control: unconfined, the host port is reachable');
  assert.notEqual((await sh(confined(), connect)).exitCode, 0, 'connected to the host with network off');
  attempts++;
  assert.notEqual((await sh(confined(), 'getent hosts registry.npmjs.org || (echo > /dev/tcp/1.1.1.1/53)')).exitCode, 0, 'reached the outside with network off');
});

void test('setsid, nohup and double-forked processes do not survive the step', { skip: bwrap.skip() }, async () => {
  attempts += 3;
  const tag = `${5000 + Math.floor(Math.random() * 1000)}`;
  const script = `setsid sleep ${tag}.1 >/dev/null 2>&1 < /dev/null & nohup sleep ${tag}.2 >/dev/null 2>&1 & ( ( setsid sleep ${tag}.3 >/dev/null 2>&1 & ) & ); sleep 1; exit 0`;
  const executor = confined();
  await executor.prepare(own.root);
  const run = executor.run({ argv: ['bash', '-c', script], cwd: own.projectDir, env: {}, network: false, onLine: () => {} });
  let seen = 0;
  for (let i = 0; i < 40 && seen < 3; i++) {
    await sleep(20);
    seen = hostPidsOf(`sleep\0${tag}.`).length;
  }
  await run;
  await executor.dispose();
  assert.equal(seen, 3, 'control: the three background processes were running during the step');
  await sleep(100);
  assert.deepEqual(hostPidsOf(`sleep\0${tag}.`), [], 'a process of the step outlived it');
});

/** Host pids whose command line contains `needle` (NUL-separated argv). */
function hostPidsOf(needle: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      const state = readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1]?.[0];
      if (cmdline.includes(needle) && state !== 'Z' && !cmdline.startsWith('/usr/bin/bwrap') && !cmdline.startsWith('bash')) pids.push(Number(name));
    } catch {
      // gone
    }
  }
  return pids;
}
