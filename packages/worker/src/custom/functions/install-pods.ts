/** eas/install_pods: `pod install` in ios/, with the network on, stopped after 30 minutes without output as in the pipeline. */
import { INSTALL_IDLE_TIMEOUT } from '../../pipelines/common.js';
import type { BuiltinFunction } from './types.js';

export const installPods: BuiltinFunction = {
  id: 'eas/install_pods',
  network: true,
  run: async ({ phase, env }) => {
    await phase.exec({ argv: ['pod', 'install'], cwd: 'ios', env, network: true, idleTimeout: INSTALL_IDLE_TIMEOUT });
  },
};
