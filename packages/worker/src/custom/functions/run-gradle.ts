/** eas/run_gradle: ./gradlew in android/, the task from the `command` input or the profile (as the Android pipeline picks it). */
import { resolveGradleTask } from '../../pipelines/android.js';
import type { BuiltinFunction } from './types.js';

export const runGradle: BuiltinFunction = {
  id: 'eas/run_gradle',
  run: async ({ phase, inputs, env }) => {
    const task = typeof inputs.command === 'string' && inputs.command.trim() ? inputs.command.trim() : resolveGradleTask(phase.job.build.profile);
    await phase.exec({ argv: ['bash', '-c', `./gradlew ${task}`], cwd: 'android', env });
  },
};
