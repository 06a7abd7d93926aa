/** eas/prebuild: `expo prebuild` for the build's platform, as the pipelines run it (inputs: clean, apple_team_id). */
import { prebuildCommand } from '../../pipelines/common.js';
import type { BuiltinFunction } from './types.js';

export const prebuild: BuiltinFunction = {
  id: 'eas/prebuild',
  network: true,
  run: async ({ phase, services, inputs, cwd, env }) => {
    const plan = await services.planContext();
    const command = prebuildCommand(plan);
    const argv = [...command.argv];
    if (inputs.clean === true || inputs.clean === 'true') argv.push('--clean');
    const extra: Record<string, string> = {};
    if (typeof inputs.apple_team_id === 'string' && inputs.apple_team_id) extra.APPLE_TEAM_ID = inputs.apple_team_id;
    await phase.exec({ argv, env: { ...command.env, ...env, ...extra }, network: true, ...(cwd ? { cwd } : {}) });
  },
};
