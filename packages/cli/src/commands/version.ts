/**
 * `buildmesh version get|set`: a project's remote build version (eas.json
 * `cli.appVersionSource: "remote"`), kept by the controller per platform: Android versionCode, iOS
 * buildNumber. Builds of a profile with `autoIncrement` take the next one when they are submitted.
 */
import { Option } from 'commander';
import { action, command, group, intOption } from '../command-kit.js';
import { connect } from '../config.js';
import { detectProjectName, resolveProjectDir } from '../project.js';

interface VersionOptions {
  json?: boolean;
  project?: string;
  platform: 'android' | 'ios';
}

const platformOption = () => new Option('--platform <platform>', 'android (versionCode) or ios (buildNumber)').choices(['android', 'ios']).makeOptionMandatory();
const projectOf = async (opts: VersionOptions) => opts.project ?? (await detectProjectName(await resolveProjectDir('.')));

const get = action<VersionOptions>(
  command('get', "Show a project's remote build version", ['buildmesh version get --platform android', 'buildmesh version get --platform ios --project my-app --json'])
    .addOption(platformOption())
    .option('--project <name>', 'project (default: from app.json / package.json in the current directory)')
    .addHelpText('after', '\nJSON (--json): { project, platform, buildVersion (null when none yet), updatedAt }\n'),
  async ({ out, opts }) => {
    const project = await projectOf(opts);
    const { client } = await connect();
    const version = await client.getAppVersion(project, opts.platform);
    if (out.json) return out.printJson({ project, ...version });
    out.info(version.buildVersion === null ? `${project} (${opts.platform}): no build version yet; the first autoIncrement build gets 1.` : `${project} (${opts.platform}): build version ${version.buildVersion}`);
  },
);

const set = action<VersionOptions & { buildVersion: number }>(
  command('set', "Set a project's remote build version (the next autoIncrement build gets one more)", ['buildmesh version set --platform android --build-version 41'])
    .addOption(platformOption())
    .requiredOption('--build-version <n>', 'versionCode (android) or buildNumber (ios), a whole number from 1', intOption(1, 2_100_000_000))
    .option('--project <name>', 'project (default: from app.json / package.json in the current directory)')
    .addHelpText('after', '\nJSON (--json): { project, platform, buildVersion, updatedAt }\n'),
  async ({ out, opts }) => {
    const project = await projectOf(opts);
    const { client } = await connect();
    const version = await client.setAppVersion(project, opts.platform, opts.buildVersion);
    if (out.json) return out.printJson({ project, ...version });
    out.info(`${project} (${opts.platform}): build version set to ${version.buildVersion}`);
  },
);

export const versionCommand = group(
  'version',
  "A project's remote build version (eas.json cli.appVersionSource: remote)",
  ['buildmesh version get --platform android', 'buildmesh version set --platform ios --build-version 12'],
  [get, set],
);
