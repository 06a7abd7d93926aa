/**
 * The build's variables reach the processes inside the sandbox and nothing outside it. A preload
 * library compiled here logs, from every process that loads it, which PID namespace it runs in:
 * lines from inside the sandbox show the variable did reach the build (control); a line from the
 * host's namespace would be code of the build running outside, as the launcher (bwrap) or anything
 * else. BASH_ENV and NODE_OPTIONS get the same treatment with a script; for every variable, and a
 * secret, no process in the host's namespace holds the value in its environment or command line.
 * This is the "preload" part of the sandbox-escape corpus; the count is printed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BwrapExecutor } from '../src/sandbox/bwrap.js';
import { createWorkspace, type Workspace } from '../src/workspace/workspace.js';
import { bwrapSkipper, recordSkip, TEST_BWRAP_PATH } from '../../../test/helpers/bwrap.js';

const bwrap = await bwrapSkipper();
const cc = spawnSync('sh', ['-c', 'command -v cc'], { encoding: 'utf8' }).stdout.trim();
function skip(): string | false {
  const noBwrap = bwrap.skip();
  if (noBwrap) return noBwrap;
  if (cc || process.env.CI) return false;
  recordSkip('cc');
  return 'no C compiler (cc) to build the preload library';
}

const HOST_PID_NS = process.platform === 'linux' ? readlinkSync('/proc/self/ns/pid') : '';
let attempts = 0;
let root: string;
let workspace: Workspace;
let log: string;
let lib: string;

before(async () => {
  if (!bwrap.runs) return;
  root = await mkdtemp('/var/tmp/bm-preload-');
  workspace = await createWorkspace(path.join(root, 'work'), 'att_preload');
  log = path.join(workspace.projectDir, 'escape.log');
  lib = path.join(workspace.projectDir, 'lib.so');
  const source = path.join(root, 'evil.c');
  await writeFile(
    source,
    `#include <stdio.h>
#include <unistd.h>
__attribute__((constructor)) static void buildmesh_test_preload(void) {
  char ns[128] = "unknown";
  ssize_t n = readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
  if (n > 0) ns[n] = 0;
  FILE *f = fopen(${JSON.stringify(log)}, "a");
  if (f) { fprintf(f, "%s preload uid=%d\\n", ns, (int)getuid()); fclose(f); }
}
`,
  );
  execFileSync(cc || 'cc', ['-shared', '-fPIC', '-o', lib, source]);
  // Loaded by the build user, inside and (if it ever escaped) outside.
  await chmod(lib, 0o755);
  const hook = `echo "$(readlink /proc/self/ns/pid) $0" >> ${log}\n`;
  await writeFile(path.join(workspace.projectDir, 'bash-env.sh'), hook.replace('$0', 'bash_env'));
  await writeFile(path.join(workspace.projectDir, 'node-hook.cjs'), `require('fs').appendFileSync(${JSON.stringify(log)}, require('fs').readlinkSync('/proc/self/ns/pid') + ' node_options\\n');\n`);
});
after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
  console.log(`sandbox escape corpus (build variables vs. the launcher): ${attempts} attempts`);
});

async function runStep(script: string, env: Record<string, string>, during?: () => Promise<void>): Promise<string[]> {
  await writeFile(log, '');
  const executor = new BwrapExecutor({ hiddenPaths: [], bwrapPath: TEST_BWRAP_PATH, killGraceMs: 1000 });
  await executor.prepare(workspace.root);
  const output: string[] = [];
  try {
    const run = executor.run({ argv: ['bash', '-c', script], cwd: workspace.projectDir, env, network: false, onLine: (_s, l) => output.push(l) });
    if (during) await during();
    const result = await run;
    assert.equal(result.exitCode, 0, output.join('\n'));
  } finally {
    await executor.dispose();
  }
  return (await readFile(log, 'utf8')).split('\n').filter(Boolean);
}

/** Every line was written inside the sandbox (another PID namespace), and there is at least one. */
function assertOnlyInside(lines: string[], what: string): void {
  attempts++;
  assert.ok(lines.length > 0, `control: ${what} never fired inside the sandbox either`);
  const outside = lines.filter((line) => line.startsWith(HOST_PID_NS));
  assert.deepEqual(outside, [], `${what} ran code outside the sandbox`);
}

void test('control: the log tells a process on the host from one in the sandbox', { skip: skip() }, async () => {
  await writeFile(log, '');
  execFileSync('/bin/true', [], { env: { LD_PRELOAD: lib } });
  assert.match(await readFile(log, 'utf8'), new RegExp(`^${HOST_PID_NS.replace(/[[\]]/g, '\\$&')} preload`));
});

void test('LD_PRELOAD (absolute or relative) runs inside the sandbox only', { skip: skip() }, async () => {
  assertOnlyInside(await runStep('true', { LD_PRELOAD: lib }), 'LD_PRELOAD=<absolute>');
  assertOnlyInside(await runStep('true', { LD_PRELOAD: './lib.so' }), 'LD_PRELOAD=./lib.so');
  // A secret is just another variable of the step's environment by the time it reaches the executor.
  assertOnlyInside(await runStep('true', { BUILDMESH_SECRET_LIKE: 'x', LD_PRELOAD: lib }), 'LD_PRELOAD next to a secret');
});

void test('BASH_ENV and NODE_OPTIONS run inside the sandbox only', { skip: skip() }, async () => {
  assertOnlyInside(await runStep('true', { BASH_ENV: path.join(workspace.projectDir, 'bash-env.sh') }), 'BASH_ENV');
  assertOnlyInside(
    await runStep('node -e 0', { NODE_OPTIONS: `--require ${path.join(workspace.projectDir, 'node-hook.cjs')}` }),
    'NODE_OPTIONS=--require',
  );
});

/** Host processes (our PID namespace) whose environment or command line contains `needle`. */
function hostProcessesHolding(needle: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (readlinkSync(`/proc/${pid}/ns/pid`) !== HOST_PID_NS) continue; // inside a sandbox: that is the build
      for (const file of ['environ', 'cmdline']) {
        if (readFileSync(`/proc/${pid}/${file}`).includes(needle)) {
          found.push(`${pid} (${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').slice(0, 120)}) in ${file}`);
        }
      }
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

void test('no value of the build is in the environment or command line of any process outside the sandbox', { skip: skip() }, async () => {
  const secret = `s3cret-${randomBytes(12).toString('hex')}`;
  const env: Record<string, string> = {
    API_TOKEN: secret,
    PATH: `/usr/bin:/bin:/${secret}-path`,
    LD_PRELOAD: `${lib}#${secret}`,
    LD_LIBRARY_PATH: `/${secret}-lib`,
    GCONV_PATH: `/${secret}-gconv`,
    BASH_ENV: `/${secret}-bash-env`,
    NODE_OPTIONS: `--title=${secret}`,
  };
  let seenInside = false;
  await runStep('echo started; sleep 2', env, async () => {
    for (let i = 0; i < 100 && !seenInside; i++) {
      await sleep(20);
      // Control: the secret is there, in the sandboxed step's own environment.
      seenInside = readdirSync('/proc').some((pid) => {
        try {
          return readlinkSync(`/proc/${pid}/ns/pid`) !== HOST_PID_NS && readFileSync(`/proc/${pid}/environ`).includes(secret);
        } catch {
          return false;
        }
      });
    }
    assert.ok(seenInside, 'control: the step never ran with the secret in its environment');
    for (const name of Object.keys(env)) {
      attempts++;
      assert.deepEqual(hostProcessesHolding(env[name] as string), [], `${name}'s value is visible outside the sandbox`);
    }
  });
});
