/** eas/checkout: the source is already unpacked in the working directory before the first step runs. */
import type { BuiltinFunction } from './types.js';

export const checkout: BuiltinFunction = {
  id: 'eas/checkout',
  run: async ({ phase }) => {
    phase.log(`The project source is checked out in ${phase.projectDir} (unpacked from the uploaded archive, sha256-checked).`);
  },
};
