/** eas/install_node_modules: the project's package manager installs, with the network on, stopped after 30 minutes without output as in the pipeline. */
import { INSTALL_IDLE_TIMEOUT } from '../../pipelines/common.js';
import { installCommand } from '../../pipelines/package-manager.js';
import { shouldUseFrozenLockfile } from '../../pipelines/package-manager.js';
import type { BuiltinFunction } from './types.js';

export const installNodeModules: BuiltinFunction = {
  id: 'eas/install_node_modules',
  network: true,
  run: async ({ phase, services, cwd, env }) => {
    const plan = await services.planContext();
    const frozen = shouldUseFrozenLockfile(plan.pm, plan.packageJson, phase.env);
    phase.log(`Using ${plan.pm.name}${plan.pm.lockfile ? `, from ${plan.pm.lockfile}` : ''}${frozen ? ', with a frozen lockfile' : ''}.`);
    // A step's working_directory wins; else a monorepo installs at its workspace root, as the pipelines do.
    const dir = cwd ?? plan.installCwd;
    await phase.exec({ argv: installCommand(plan.pm, frozen), env, network: true, idleTimeout: INSTALL_IDLE_TIMEOUT, ...(dir ? { cwd: dir } : {}) });
  },
};
