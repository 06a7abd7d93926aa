/**
 * `buildmesh doctor [dir]`: every check a build depends on, before submitting one — the
 * controller answers, the token is valid (and its role), eas.json has the profile, the git
 * state, what would be packed, and whether an online worker can build each platform.
 * Exit status 1 when a check fails; warnings do not fail.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Option } from 'commander';
import {
  type BuildMeshClient,
  type Labels,
  type Platform,
  type WorkerInfo,
} from '@buildmesh/protocol';
import { labelsForProfile, readEasJson, resolveBuildProfile } from '../eas-json.js';
import { action, command } from '../command-kit.js';
import { checkCustomConfig } from '../custom-config-check.js';
import { resolveConnection, makeClient } from '../config.js';
import { describeError, EXIT, formatLabels, type Output } from '../output.js';
import { inSource, listSourceFiles } from '../pack/source-root.js';
import { formatBytes, SOURCE_MAX_BYTES, SOURCE_WARN_BYTES, summarizeFiles } from '../pack/pack.js';
import { detectPlatforms, detectProjectName, gitState, resolveProjectDir } from '../project.js';
import { cli } from '../invocation.js';

type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

/** Files that are build outputs, not sources: app archives and packed trees. */
const BUILD_OUTPUT = /\.(apk|aab|ipa|xcarchive|dSYM\.zip|tar\.gz|tgz)$/i;

/** One line of the report; `--json` prints the list as { ok, checks }. */
export interface Check {
  id: 'controller' | 'token' | 'project' | 'eas-json' | 'git' | 'pack' | 'workers';
  status: CheckStatus;
  message: string;
  details?: unknown;
}

interface DoctorOptions {
  json?: boolean;
  platform: Platform | 'all';
  profile: string;
}

export const doctorCommand = action<DoctorOptions>(
  command('doctor', 'Check the controller, token, eas.json, git state, pack size and workers before a build', [
    'buildmesh doctor',
    'buildmesh doctor ./apps/mobile --platform ios --profile preview',
    'buildmesh doctor --json',
  ])
    .argument('[dir]', 'project directory', '.')
    .addOption(new Option('-p, --platform <platform>', 'platform to check (all = every platform the project targets)').choices(['android', 'ios', 'web', 'all']).default('all'))
    .option('-e, --profile <name>', 'build profile from eas.json', 'production')
    .addHelpText('after', "\nJSON (--json): { ok, checks: [{ id, status: 'ok'|'warn'|'fail'|'skip', message, details? }] }\n"),
  async ({ out, opts, args }) => {
    const checks: Check[] = [];
    const add = (check: Check) => {
      checks.push(check);
      if (!out.json) printCheck(out, check);
    };
    const fail = (id: Check['id'], err: unknown): Check => {
      const e = describeError(err);
      return { id, status: 'fail', message: `${e.code}: ${e.message}${e.hint ? ` — ${e.hint}` : ''}` };
    };

    // Controller and token.
    const connection = await resolveConnection();
    const anonymous = makeClient(connection.url);
    let client: BuildMeshClient | null = null;
    try {
      const health = await anonymous.health();
      add({ id: 'controller', status: health.status === 'ok' ? 'ok' : 'warn', message: `${connection.url} answers (${health.status}, version ${health.version}, store ${health.store}, blobs ${health.blobs})`, details: health });
      if (!connection.token) {
        add({ id: 'token', status: 'fail', message: `NOT_LOGGED_IN: no token for ${connection.url} — run \`${cli()} login --url ${connection.url}\` (or set BUILDMESH_TOKEN)` });
      } else {
        try {
          const me = await makeClient(connection.url, connection.token).whoami();
          client = makeClient(connection.url, connection.token);
          const canBuild = me.token.role !== 'read-only';
          add({
            id: 'token',
            status: canBuild ? 'ok' : 'warn',
            message: `valid: ${me.token.name} in org ${me.org.name}, role ${me.token.role}${me.token.instanceAdmin ? ' (instance admin)' : ''}${canBuild ? '' : ' — read-only tokens cannot submit builds'}`,
            details: { org: me.org, token: me.token },
          });
        } catch (err) {
          add(fail('token', err));
        }
      }
    } catch (err) {
      add(fail('controller', err));
      add({ id: 'token', status: 'skip', message: 'skipped: the controller is not reachable' });
    }

    // Project, eas.json and the profile.
    const dir = await resolveProjectDir(args[0]);
    try {
      add({ id: 'project', status: 'ok', message: `${dir} → project name "${await detectProjectName(dir)}"` });
    } catch (err) {
      add({ ...fail('project', err), status: 'warn' });
    }
    const platforms = opts.platform === 'all' ? await detectPlatforms(dir) : [opts.platform];
    const required = new Map<Platform, Labels>();
    let customConfigs: string[] = [];
    try {
      const easJson = await readEasJson(dir);
      const warnings: string[] = [];
      for (const platform of platforms) {
        const { profile, warnings: w } = resolveBuildProfile(easJson, opts.profile, platform);
        warnings.push(...w.map((x) => `${platform}: ${x}`));
        required.set(platform, labelsForProfile(profile, platform));
        if (profile.config) customConfigs.push(`.eas/build/${profile.config}`);
        // What a worker would refuse, refused here by the same code.
        if (profile.config && existsSync(join(dir, '.eas/build', profile.config))) await checkCustomConfig(dir, profile);
      }
      customConfigs = [...new Set(customConfigs)];
      add({
        id: 'eas-json',
        status: warnings.length ? 'warn' : 'ok',
        message: `profile "${opts.profile}" resolves for ${platforms.join(', ')}${warnings.length ? `; ${warnings.join('; ')}` : ''}`,
        details: { platforms, warnings },
      });
    } catch (err) {
      add(fail('eas-json', err));
    }

    // Git state.
    const git = await gitState(dir);
    add(
      !git.repository
        ? { id: 'git', status: 'warn', message: 'not a git repository: files are chosen by .gitignore/.easignore rules alone', details: git }
        : {
            id: 'git',
            status: git.changes > 0 ? 'warn' : 'ok',
            message: `${git.branch ?? 'detached'} @ ${git.commit?.slice(0, 12) ?? '(no commits)'}${git.changes > 0 ? `, ${git.changes} uncommitted change(s) would be included` : ', clean'}`,
            details: git,
          },
    );

    // What would be packed.
    try {
      const source = await listSourceFiles(dir);
      const { files } = source;
      const summary = summarizeFiles(files);
      const missing = customConfigs.filter((p) => !files.some((f) => f.path === inSource(source, p)));
      const largest = summary.largest.slice(0, 5).map((f) => `${f.path} (${formatBytes(f.size)})`);
      // Build outputs (downloaded artifacts, archives) would be uploaded with the source: say so.
      const outputs = files.filter((f) => BUILD_OUTPUT.test(f.path));
      const outputBytes = outputs.reduce((sum, f) => sum + f.size, 0);
      const status: CheckStatus =
        summary.bytes > SOURCE_MAX_BYTES || missing.length ? 'fail' : summary.bytes > SOURCE_WARN_BYTES || outputs.length ? 'warn' : 'ok';
      add({
        id: 'pack',
        status,
        message:
          (source.appDir ? `monorepo: the repository root is packed, app in ${source.appDir}; ` : '') +
          `${summary.count} files, ${formatBytes(summary.bytes)} (limit ${formatBytes(SOURCE_MAX_BYTES)}); largest: ${largest.join(', ') || '-'}` +
          (missing.length ? `; custom build config missing or ignored: ${missing.join(', ')}` : '') +
          (outputs.length
            ? `; ${outputs.length} build output file(s), ${formatBytes(outputBytes)}, would be uploaded (${outputs.slice(0, 3).map((f) => f.path).join(', ')}${outputs.length > 3 ? ', …' : ''}): add them to .easignore or .gitignore`
            : ''),
        details: { appDir: source.appDir, count: summary.count, bytes: summary.bytes, largest: summary.largest.slice(0, 5), missingCustomConfigs: missing, buildOutputs: outputs.map((f) => f.path) },
      });
    } catch (err) {
      add(fail('pack', err));
    }

    // Workers.
    if (!client) {
      add({ id: 'workers', status: 'skip', message: 'skipped: needs a reachable controller and a valid token' });
    } else {
      try {
        const { workers } = await client.listWorkers();
        const perPlatform = platforms.map((platform) => ({ platform, ...matching(workers, platform, required.get(platform) ?? {}) }));
        const none = perPlatform.filter((p) => p.online === 0);
        add({
          id: 'workers',
          status: none.length === 0 ? 'ok' : none.some((p) => p.enrolled === 0) ? 'fail' : 'warn',
          message: perPlatform
            .map((p) => {
              const labels = Object.keys(required.get(p.platform) ?? {}).length ? ` with ${formatLabels(required.get(p.platform)!)}` : '';
              return `${p.platform}${labels}: ${p.online} online of ${p.enrolled} able${p.enrolled === 0 ? lacking(workers, p.platform) : ''}`;
            })
            .join('; '),
          details: perPlatform,
        });
      } catch (err) {
        add(fail('workers', err));
      }
    }

    const ok = checks.every((c) => c.status !== 'fail');
    if (out.json) out.printJson({ ok, checks });
    const warnings = checks.filter((c) => c.status === 'warn').length;
    if (!out.json) {
      out.info(
        !ok
          ? out.c.red('\nSome checks failed; fix them before building.')
          : warnings
            ? out.c.yellow(`\nNo blocking problems; ${warnings} warning${warnings === 1 ? '' : 's'} above.`)
            : out.c.green('\nNo problems found.'),
      );
    }
    return ok ? EXIT.ok : EXIT.failure;
  },
);

/** What the online workers lack to build a platform, from the toolchain facts they report. */
export function lacking(workers: readonly WorkerInfo[], platform: Platform): string {
  const online = workers.filter((w) => w.state === 'online');
  if (online.length === 0) return ' — no worker is online';
  const reasons = online.slice(0, 3).map((w) => {
    const t = w.toolchains;
    const missing: string[] = [];
    const present: string[] = [];
    if (platform === 'android') {
      (t.java ? present : missing).push(t.java ? `Java ${t.java}` : 'Java (a JDK on PATH)');
      (t['android-build-tools'] ? present : missing).push(t['android-build-tools'] ? 'an Android SDK' : 'an Android SDK (ANDROID_HOME or ANDROID_SDK_ROOT with platform-tools and build-tools)');
    } else if (platform === 'ios') {
      if (w.labels.os && w.labels.os !== 'macos') missing.push('macOS');
      for (const [key, what] of [['xcode', 'Xcode'], ['cocoapods', 'CocoaPods'], ['fastlane', 'fastlane']] as const) (t[key] ? present : missing).push(what);
    }
    if (missing.length === 0) return `${w.name} has the toolchains; the profile's labels rule it out`;
    return `${w.name} lacks ${missing.join(' and ')}${present.length ? ` (${present.join(', ')} present)` : ''}`;
  });
  return ` — ${reasons.join('; ')}${online.length > 3 ? '; …' : ''}`;
}

function matching(workers: readonly WorkerInfo[], platform: Platform, labels: Labels): { enrolled: number; online: number } {
  const able = workers.filter((w) => w.platforms.includes(platform) && Object.entries(labels).every(([k, v]) => w.labels[k] === v));
  return { enrolled: able.length, online: able.filter((w) => w.state === 'online').length };
}

function printCheck(out: Output, check: Check): void {
  const { c } = out;
  const mark = { ok: c.green('✔'), warn: c.yellow('!'), fail: c.red('✖'), skip: c.dim('-') }[check.status];
  out.info(`${mark} ${c.bold(check.id.padEnd(10))} ${check.status === 'skip' ? c.dim(check.message) : check.message}`);
}
