/**
 * `set-output` and `set-env`, as on EAS Build: two small commands on every build command's PATH.
 *
 *   set-output NAME VALUE   a value later custom steps read as ${{ steps.<id>.outputs.NAME }}
 *   set-env NAME VALUE      NAME=VALUE in the environment of every later command of the build
 *
 * (one argument: the value is read from stdin). Each command run gets a fresh pair of
 * directories below the workspace (`.buildmesh/steps/<n>/{outputs,env}`) where the scripts write
 * one file per name; the runner reads them after the command ended. The files are build output,
 * so they are read without following symlinks, as regular files only, bounded in number and size;
 * a name that is not a plain variable name, or one of the build's identity variables, is refused.
 */
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildFailure } from './build-failure.js';
import { WORKER_DIR } from '../workspace/workspace.js';

const MAX_ENTRIES = 100;
const MAX_VALUE_BYTES = 256 * 1024;
const OUTPUT_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/** Set by the worker for the whole build; a step cannot change who the build is. */
const PROTECTED_ENV = /^(EAS_BUILD(_.*)?|BUILDMESH_.*|__EXPO_STEPS_.*|HOME|TMPDIR)$/;
const FALLBACK_PATH = '/usr/local/bin:/usr/bin:/bin';

const script = (dirVar: string, usage: string, namePattern: string): string => `#!/bin/sh
# ${usage} (BuildMesh; see the README's custom builds section)
if [ $# -lt 1 ] || [ $# -gt 2 ]; then echo "usage: ${usage}" >&2; exit 2; fi
if [ -z "\${${dirVar}:-}" ]; then echo "${usage.split(' ')[0]}: only available inside a build step" >&2; exit 2; fi
case "$1" in ${namePattern}) echo "${usage.split(' ')[0]}: invalid name: $1" >&2; exit 2;; esac
if [ $# -eq 2 ]; then printf '%s' "$2" > "\$${dirVar}/$1"; else cat > "\$${dirVar}/$1"; fi
`;

const SCRIPTS: Record<string, string> = {
  'set-output': script('BUILDMESH_STEP_OUTPUTS_DIR', 'set-output NAME [VALUE]', "''|[!A-Za-z_]*|*[!A-Za-z0-9_-]*"),
  'set-env': script('BUILDMESH_STEP_ENV_DIR', 'set-env NAME [VALUE]', "''|[!A-Za-z_]*|*[!A-Za-z0-9_]*"),
};

export interface StepIo {
  /** Added to the command's environment (PATH with the scripts first, the two directories). */
  env: Record<string, string>;
  /** Reads what the command left; throws BuildFailure STEP_FAILED on anything malformed. */
  collect(): Promise<{ outputs: Record<string, string>; env: Record<string, string> }>;
}

/** Writes the scripts once per workspace; then one pair of directories per command. */
export class StepIoFactory {
  private count = 0;
  private ready: Promise<string> | undefined;

  constructor(private readonly workspaceRoot: string) {}

  private binDir(): Promise<string> {
    this.ready ??= (async () => {
      const bin = join(this.workspaceRoot, WORKER_DIR, 'bin');
      await mkdir(bin, { recursive: true, mode: 0o755 });
      await chmod(join(this.workspaceRoot, WORKER_DIR), 0o755);
      await chmod(bin, 0o755);
      for (const [name, text] of Object.entries(SCRIPTS)) {
        await writeFile(join(bin, name), text, { mode: 0o755 });
        await chmod(join(bin, name), 0o755);
      }
      return bin;
    })();
    return this.ready;
  }

  async create(path: string | undefined): Promise<StepIo> {
    const bin = await this.binDir();
    const dir = join(this.workspaceRoot, WORKER_DIR, 'steps', String(++this.count));
    const outputs = join(dir, 'outputs');
    const env = join(dir, 'env');
    await mkdir(outputs, { recursive: true });
    await mkdir(env, { recursive: true });
    await chmod(join(this.workspaceRoot, WORKER_DIR, 'steps'), 0o755);
    await chmod(dir, 0o755);
    // The step may run as another user (the sandbox's build user): it must be able to write here.
    await chmod(outputs, 0o777);
    await chmod(env, 0o777);
    return {
      env: {
        PATH: `${bin}:${path ?? process.env.PATH ?? FALLBACK_PATH}`,
        BUILDMESH_STEP_OUTPUTS_DIR: outputs,
        BUILDMESH_STEP_ENV_DIR: env,
        // The names EAS's own scripts use, for scripts written against them.
        __EXPO_STEPS_OUTPUTS_DIR: outputs,
        __EXPO_STEPS_ENVS_DIR: env,
      },
      collect: async () => ({ outputs: await readValues(outputs, OUTPUT_NAME, 'set-output'), env: await readEnv(env) }),
    };
  }
}

async function readEnv(dir: string): Promise<Record<string, string>> {
  const values = await readValues(dir, ENV_NAME, 'set-env');
  for (const name of Object.keys(values)) {
    if (PROTECTED_ENV.test(name)) throw new BuildFailure('STEP_FAILED', `set-env: ${name} is set by the worker and cannot be changed by a step`);
    if (values[name]!.includes('\0')) throw new BuildFailure('STEP_FAILED', `set-env: the value of ${name} holds a NUL byte`);
  }
  return values;
}

async function readValues(dir: string, namePattern: RegExp, what: string): Promise<Record<string, string>> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (err) {
    // The step removed its own directory: it set nothing.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  if (names.length > MAX_ENTRIES) throw new BuildFailure('STEP_FAILED', `${what}: more than ${MAX_ENTRIES} values in one step`);
  const values: Record<string, string> = {};
  for (const name of names) {
    if (!namePattern.test(name)) throw new BuildFailure('STEP_FAILED', `${what}: invalid name ${JSON.stringify(name.slice(0, 64))}`);
    const path = join(dir, name);
    const stat = await lstat(path);
    if (!stat.isFile()) throw new BuildFailure('STEP_FAILED', `${what}: ${name} is not a regular file`);
    if (stat.size > MAX_VALUE_BYTES) throw new BuildFailure('STEP_FAILED', `${what}: the value of ${name} is larger than ${MAX_VALUE_BYTES} bytes`);
    // O_NONBLOCK: a FIFO swapped in after the lstat must not hang the worker.
    const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const buffer = Buffer.alloc(MAX_VALUE_BYTES + 1);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      if (bytesRead > MAX_VALUE_BYTES) throw new BuildFailure('STEP_FAILED', `${what}: the value of ${name} is larger than ${MAX_VALUE_BYTES} bytes`);
      // `echo value | set-output name` leaves the newline echo added: drop one, as a shell would.
      values[name] = buffer.subarray(0, bytesRead).toString('utf8').replace(/\r?\n$/, '');
    } finally {
      await handle.close();
    }
  }
  return values;
}
