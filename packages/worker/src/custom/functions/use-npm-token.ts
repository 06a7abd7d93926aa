/** eas/use_npm_token: an .npmrc that reads NPM_TOKEN from the environment, as the pipelines write it. */
import { join } from 'node:path';
import { npmrcForToken } from '../../pipelines/common.js';
import { writeFileInside } from '../../workspace/inside.js';
import type { BuiltinFunction } from './types.js';

export const useNpmToken: BuiltinFunction = {
  id: 'eas/use_npm_token',
  run: async ({ phase }) => {
    if (!phase.env.NPM_TOKEN) {
      phase.log('NPM_TOKEN is not set (add it with `buildmesh secrets set NPM_TOKEN`): nothing to do.');
      return;
    }
    // The token itself is not written: npm expands ${NPM_TOKEN} when it reads the file. Earlier steps
    // ran the build's code: an .npmrc that is a symlink (to a host file) is refused, not followed.
    await writeFileInside(phase.projectDir, join(phase.projectDir, '.npmrc'), npmrcForToken(phase.env), { mode: 0o644 });
    phase.log('Wrote .npmrc reading NPM_TOKEN from the environment.');
  },
};
