/**
 * `none`: runs build steps directly on the worker's machine, as the worker's user. What it
 * guarantees is hygiene, not isolation:
 *  - each step is the leader of its own process group, and stopping it (timeout, cancel, or its
 *    own exit) stops the whole tree: background jobs, setsid, nohup and double forks included
 *    (every process of the step carries a marker variable found through /proc, see spawn-tree.ts);
 *  - the environment is reduced to an allowlist (nothing of the worker's tokens or config leaks
 *    through variables), with HOME and TMPDIR inside the attempt's workspace;
 *  - the build's variables go to the step process only; the command the worker asks for is looked
 *    up on the worker's own PATH first, so a PATH from the job cannot swap it for another program.
 * It does NOT stop a step from reading or writing anything the worker's user can, from using the
 * network, or from escaping with a process that scrubs its own environment. Use it where bwrap is
 * unavailable (macOS), for one org's own trusted projects; see docs/sandbox.md.
 */
import { randomBytes } from 'node:crypto';
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import type { ExecRequest } from './executor.js';
import { LocalExecutor, type SpawnPlan } from './local-executor.js';

/** The variable that marks every process of one step (its value is random per step). */
export const STEP_MARKER_VAR = 'BUILDMESH_STEP_MARKER';

export class NoneExecutor extends LocalExecutor {
  readonly name = 'none';

  protected async spawnPlan(request: ExecRequest, _layout: unknown, stepEnv: Record<string, string>): Promise<SpawnPlan> {
    const [command = '', ...args] = request.argv;
    const marker = `${STEP_MARKER_VAR}=${randomBytes(16).toString('hex')}`;
    const env = { ...stepEnv, [STEP_MARKER_VAR]: marker.slice(STEP_MARKER_VAR.length + 1) };
    return { argv: [resolveCommand(command, process.env.PATH), ...args], env, marker };
  }
}

/** `command` as an absolute path found on `searchPath`; unchanged when it has a slash or is not there. */
export function resolveCommand(command: string, searchPath: string | undefined): string {
  if (command.includes('/')) return command;
  for (const dir of (searchPath ?? '').split(path.delimiter)) {
    if (!path.isAbsolute(dir)) continue; // a relative PATH entry would depend on the step's cwd
    const candidate = path.join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return command;
}
