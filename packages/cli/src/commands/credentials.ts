/**
 * `buildmesh credentials upload|show|delete`: a project's signing credentials on the controller
 * (encrypted at rest, delivered only to the worker leasing one of its builds). `upload` reads the
 * project's credentials.json (eas-cli's format) and the files it names.
 */
import { Option } from 'commander';
import type { CredentialsSummary, Platform } from '@buildmesh/protocol';
import { action, command, group } from '../command-kit.js';
import { connect } from '../config.js';
import { readCredentialsJson } from '../credentials-json.js';
import { renderFields, type Output } from '../output.js';
import { detectIosTargetName, detectProjectName, resolveProjectDir } from '../project.js';

interface UploadOptions {
  json?: boolean;
  platform?: 'android' | 'ios';
  project?: string;
  iosTarget?: string;
}

function printSummary(out: Output, project: string, summary: CredentialsSummary): void {
  out.info(renderFields([
    ['project', project],
    ['android', summary.android ? `keystore (alias ${summary.android.keyAlias})` : 'none'],
    ['ios', summary.ios ? `targets ${summary.ios.targets.join(', ')}` : 'none'],
    ['updated', summary.updatedAt ?? '-'],
  ], out.c));
}

const CREDENTIALS_JSON_HELP = `
credentials.json (paths relative to the project; keep this file out of git):
  {
    "android": { "keystore": { "keystorePath": "release.keystore", "keystorePassword": "…",
                               "keyAlias": "upload", "keyPassword": "…" } },
    "ios": { "provisioningProfilePath": "ios/app.mobileprovision",
             "distributionCertificate": { "path": "ios/dist.p12", "password": "…" } }
  }
For apps with extensions, "ios" maps each target name to { provisioningProfilePath, distributionCertificate }.
The single-target form is stored for the target named by --ios-target (default: expo.name without spaces/punctuation).
JSON (--json): { project, credentials: { android: { keyAlias } | null, ios: { targets } | null, updatedAt } }
`;

const upload = action<UploadOptions>(
  command('upload', "Upload the project's credentials.json signing credentials (stored encrypted)", [
    'buildmesh credentials upload',
    'buildmesh credentials upload ./apps/mobile --platform android',
    'buildmesh credentials upload --platform ios --ios-target MyApp',
  ])
    .argument('[dir]', 'project directory', '.')
    .addOption(new Option('--platform <platform>', 'only this platform (default: every platform in the file)').choices(['android', 'ios']))
    .option('--project <name>', 'project name on the controller (default: from app.json / package.json)')
    .option('--ios-target <name>', 'target name for the single-target iOS form')
    .addHelpText('after', CREDENTIALS_JSON_HELP),
  async ({ out, opts, args }) => {
    const dir = await resolveProjectDir(args[0]);
    const project = await detectProjectName(dir, opts.project);
    const iosTargetName = opts.iosTarget ?? (await detectIosTargetName(dir)) ?? project;
    const bundle = await readCredentialsJson(dir, { iosTargetName, ...(opts.platform ? { platforms: [opts.platform] } : {}) });
    const { client } = await connect();
    const summary = await client.putCredentials(project, bundle);
    if (out.json) {
      out.printJson({ project, credentials: summary });
      return;
    }
    out.info(`${out.c.green('✔')} Credentials uploaded (encrypted at rest).`);
    printSummary(out, project, summary);
  },
);

const show = action<{ json?: boolean; project?: string }>(
  command('show', 'Show which credentials a project has on file (never their values)', ['buildmesh credentials show', 'buildmesh credentials show --project my-app --json'])
    .argument('[dir]', 'project directory', '.')
    .option('--project <name>', 'project name on the controller (default: from app.json / package.json)')
    .addHelpText('after', '\nJSON (--json): { project, credentials: { android, ios, updatedAt } }\n'),
  async ({ out, opts, args }) => {
    const project = opts.project ?? (await detectProjectName(await resolveProjectDir(args[0])));
    const { client } = await connect();
    const summary = await client.getCredentials(project);
    if (out.json) {
      out.printJson({ project, credentials: summary });
      return;
    }
    printSummary(out, project, summary);
  },
);

const remove = action<{ json?: boolean; project?: string; platform: Platform }>(
  command('delete', "Delete a project's stored credentials for one platform", ['buildmesh credentials delete --platform android'])
    .argument('[dir]', 'project directory', '.')
    .addOption(new Option('--platform <platform>', 'which platform').choices(['android', 'ios']).makeOptionMandatory())
    .option('--project <name>', 'project name on the controller (default: from app.json / package.json)')
    .addHelpText('after', '\nJSON (--json): { project, credentials: { android, ios, updatedAt } }\n'),
  async ({ out, opts, args }) => {
    const project = opts.project ?? (await detectProjectName(await resolveProjectDir(args[0])));
    const { client } = await connect();
    const summary = await client.deleteCredentials(project, opts.platform);
    if (out.json) {
      out.printJson({ project, credentials: summary });
      return;
    }
    out.info(`${out.c.green('✔')} ${opts.platform} credentials deleted.`);
    printSummary(out, project, summary);
  },
);

export const credentialsCommand = group(
  'credentials',
  'Manage signing credentials of a project',
  ['buildmesh credentials upload', 'buildmesh credentials show --json'],
  [upload, show, remove],
);
