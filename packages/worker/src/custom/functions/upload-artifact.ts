/**
 * eas/upload_artifact: uploads now what `path` matches (a path, directory or glob; several, one per
 * line), inside the project only, as the application archive (`type: application-archive`, the
 * default) or as build artifacts (`type: build-artifact`). No match fails the step.
 */
import type { BuiltinFunction } from './types.js';

export const uploadArtifact: BuiltinFunction = {
  id: 'eas/upload_artifact',
  run: async ({ phase, services, inputs }) => {
    const patterns = String(inputs.path ?? '')
      .split('\n')
      .map((p) => p.trim())
      .filter(Boolean);
    const kind = inputs.type === 'build-artifact' ? 'build-artifacts' : 'application-archive';
    await services.upload({ kind, patterns, required: true }, phase);
  },
};
