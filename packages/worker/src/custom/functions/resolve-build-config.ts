/** eas/resolve_build_config: logs the build profile as it was resolved when the build was submitted. */
import type { BuiltinFunction } from './types.js';

export const resolveBuildConfig: BuiltinFunction = {
  id: 'eas/resolve_build_config',
  run: async ({ phase }) => {
    const { build } = phase.job;
    phase.log(`Build profile "${build.profileName}" for ${build.platform}:`);
    // Values of env are not printed here (they may be secrets' neighbours); names are.
    for (const line of JSON.stringify({ ...build.profile, env: Object.keys(build.profile.env) }, null, 2).split('\n')) phase.log(line);
  },
};
