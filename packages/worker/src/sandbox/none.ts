/**
 * `none`: runs build steps directly on the worker's machine, as the worker's user. What it
 * guarantees is hygiene, not isolation:
 *  - each step is the leader of its own process group, and stopping it (timeout, cancel, or its
 *    own exit) stops the whole tree: background jobs included;
 *  - the environment is reduced to an allowlist (nothing of the worker's tokens or config leaks
 *    through variables), with HOME and TMPDIR inside the attempt's workspace.
 * It does NOT stop a step from reading or writing anything the worker's user can, from using the
 * network, or from escaping the tree with a double fork plus setsid (see spawn-tree.ts). Use it
 * where bwrap is unavailable (macOS) and for trusted projects only; see docs/sandbox.md.
 */
import type { ExecRequest } from './executor.js';
import { LocalExecutor, type SpawnPlan } from './local-executor.js';

export class NoneExecutor extends LocalExecutor {
  readonly name = 'none';

  protected spawnPlan(request: ExecRequest): SpawnPlan {
    return { argv: request.argv };
  }
}
