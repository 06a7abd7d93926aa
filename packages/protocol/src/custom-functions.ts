/**
 * The built-in functions of EAS custom builds that BuildMesh runs, with the inputs and outputs
 * each takes: what the config validator checks a call against (CLI and worker alike). Each one's
 * implementation is one file in packages/worker/src/custom/functions/, registered in its index.ts;
 * a function is added in both places (a worker test checks they list the same ids).
 *
 * Any other `eas/…` function is refused with CUSTOM_FUNCTION_UNSUPPORTED naming it.
 */

export type FunctionInputType = 'string' | 'boolean' | 'number' | 'json';

export interface FunctionInputSpec {
  name: string;
  type: FunctionInputType;
  required: boolean;
  defaultValue?: unknown;
  allowedValues?: unknown[];
}

export interface FunctionOutputSpec {
  name: string;
  required: boolean;
}

export interface BuiltinFunctionSpec {
  id: string;
  /** One line for the README table and `doctor`. */
  description: string;
  inputs: FunctionInputSpec[];
  outputs: FunctionOutputSpec[];
}

const spec = (id: string, description: string, inputs: FunctionInputSpec[] = [], outputs: FunctionOutputSpec[] = []): BuiltinFunctionSpec => ({
  id,
  description,
  inputs,
  outputs,
});

export const BUILTIN_FUNCTION_SPECS: Readonly<Record<string, BuiltinFunctionSpec>> = Object.freeze(
  Object.fromEntries(
    [
      spec('eas/checkout', 'The project source (already unpacked in the working directory when the first step runs).'),
      spec('eas/use_npm_token', 'Writes an .npmrc that reads NPM_TOKEN (a secret) for the npm registry, when NPM_TOKEN is set.'),
      spec('eas/install_node_modules', "Installs dependencies with the project's package manager (network on)."),
      spec('eas/resolve_build_config', 'Logs the resolved build profile.'),
      spec('eas/prebuild', '`expo prebuild` for the build platform (network on).', [
        { name: 'clean', type: 'boolean', required: false, defaultValue: false },
        { name: 'apple_team_id', type: 'string', required: false },
      ]),
      spec('eas/build', "The whole platform pipeline as EAS's eas/build runs it; its application archive is uploaded at the end of the build."),
      spec('eas/run_gradle', 'Runs ./gradlew in android/ (default task from the profile, as the Android pipeline chooses it).', [
        { name: 'command', type: 'string', required: false },
      ]),
      spec('eas/install_pods', '`pod install` in ios/ (network on).'),
      spec(
        'eas/upload_artifact',
        'Uploads the files a path or glob (one per line) matches, now: the application archive, or build artifacts.',
        [
          { name: 'path', type: 'string', required: true },
          { name: 'type', type: 'string', required: false, defaultValue: 'application-archive', allowedValues: ['application-archive', 'build-artifact'] },
        ],
      ),
      spec(
        'eas/find_and_upload_build_artifacts',
        "Uploads the platform's usual application archive (or the profile's applicationArchivePath) and the profile's buildArtifactPaths.",
      ),
      spec(
        'eas/restore_cache',
        "Restores paths (one per line; in the project, or ~/…) saved under `key` by an earlier build of the org on this worker, else the most recent entry whose key starts with one of `restore_keys` (one per line).",
        [
          { name: 'key', type: 'string', required: true },
          { name: 'restore_keys', type: 'string', required: false },
          { name: 'path', type: 'string', required: true },
        ],
      ),
      spec('eas/save_cache', "Saves paths (one per line) under `key` in the org's cache on this worker, for later builds' eas/restore_cache.", [
        { name: 'key', type: 'string', required: true },
        { name: 'path', type: 'string', required: true },
      ]),
    ].map((s) => [s.id, s]),
  ),
);

/** Built-in function ids EAS documents that BuildMesh refuses by name (listed so the message can say why). */
export const UNSUPPORTED_EAS_FUNCTIONS: Readonly<Record<string, string>> = Object.freeze({
  'eas/send_slack_message': 'no Slack integration on a self-hosted worker; call the webhook with curl in a `run` step',
  'eas/maestro_test': 'no emulators on the worker',
  'eas/start_android_emulator': 'no emulators on the worker',
  'eas/start_ios_simulator': 'no simulators on the worker',
  'eas/inject_android_credentials': 'part of eas/build here; use eas/build',
  'eas/configure_ios_credentials': 'part of eas/build here; use eas/build',
  'eas/generate_gymfile_from_template': 'part of eas/build here; use eas/build',
  'eas/run_fastlane': 'part of eas/build here; use eas/build',
  'eas/configure_eas_update': 'part of eas/build here (the profile\'s channel); use eas/build',
  'eas/configure_android_version': 'part of eas/build here (autoIncrement); use eas/build',
  'eas/configure_ios_version': 'part of eas/build here (autoIncrement); use eas/build',
});
