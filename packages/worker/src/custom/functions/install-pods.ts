/** eas/install_pods: `pod install` in ios/, with the network on. */
import type { BuiltinFunction } from './types.js';

export const installPods: BuiltinFunction = {
  id: 'eas/install_pods',
  network: true,
  run: async ({ phase, env }) => {
    await phase.exec({ argv: ['pod', 'install'], cwd: 'ios', env, network: true });
  },
};
