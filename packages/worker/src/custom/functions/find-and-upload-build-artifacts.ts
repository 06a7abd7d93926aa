/**
 * eas/find_and_upload_build_artifacts: the platform's usual application archive (or the
 * profile's applicationArchivePath) and the profile's buildArtifactPaths (when any match).
 */
import { DEFAULT_ANDROID_ARCHIVE_GLOB } from '../../pipelines/android.js';
import { DEFAULT_IOS_ARCHIVE_GLOB, DEFAULT_IOS_SIMULATOR_ARCHIVE_GLOB } from '../../pipelines/ios.js';
import { webArchivePath } from '../../pipelines/web.js';
import type { BuiltinFunction } from './types.js';

export const findAndUploadBuildArtifacts: BuiltinFunction = {
  id: 'eas/find_and_upload_build_artifacts',
  run: async ({ phase, services }) => {
    const { profile, platform, id } = phase.job.build;
    const archive =
      profile.applicationArchivePath ??
      (platform === 'android' ? DEFAULT_ANDROID_ARCHIVE_GLOB : platform === 'ios' ? (profile.simulator ? DEFAULT_IOS_SIMULATOR_ARCHIVE_GLOB : DEFAULT_IOS_ARCHIVE_GLOB) : webArchivePath(id));
    await services.upload({ kind: 'application-archive', patterns: [archive], required: true }, phase);
    if (profile.buildArtifactPaths?.length) await services.upload({ kind: 'build-artifacts', patterns: profile.buildArtifactPaths, required: false }, phase);
  },
};
