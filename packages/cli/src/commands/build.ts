/**
 * `buildmesh build [dir]`: validate the eas.json profile, pack the project the way EAS does,
 * upload it (only if the controller does not have these exact bytes: the source is named by its
 * sha256, so --platform all and a resubmit of an unchanged project upload it once), then (by default) wait: queue position and ETA, the live log,
 * and the artifacts downloaded into --output with their sha256 verified.
 *
 * Nothing is uploaded until everything that can be checked locally has been: the profile,
 * the custom build config, local credentials, the project name, the token, the pack size.
 *
 * A submit that fails transiently (the controller restarting) is sent again with
 * the same idempotency key, so a response lost after the controller stored the build never
 * makes a second one.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Option } from 'commander';
import {
  type Build,
  type BuildMeshClient,
  type CreateBuildSpec,
  type CredentialsBundle,
  type Platform,
  type ResolvedProfile,
} from '@buildmesh/protocol';
import { labelsForProfile, readEasJson, resolveBuildProfile } from '../eas-json.js';
import { action, collectLabel, command, intOption } from '../command-kit.js';
import { buildUrl } from '../config.js';
import { connectForCi } from '../oidc.js';
import { readCredentialsJson } from '../credentials-json.js';
import { checkCustomConfig } from '../custom-config-check.js';
import type { DownloadedArtifact } from '../download.js';
import { CliError, EXIT, terminalText, type Output } from '../output.js';
import { shallowGitClone } from '../pack/shallow-git.js';
import { inSource, listSourceFiles, type SourceFiles } from '../pack/source-root.js';
import { formatBytes, packProject, SOURCE_MAX_BYTES, SOURCE_WARN_BYTES, summarizeFiles } from '../pack/pack.js';
import { createProgress } from '../progress.js';
import { retryWithNotice } from '../reconnect.js';
import { detectIosTargetName, detectPlatforms, detectProjectName, gitState, resolveProjectDir } from '../project.js';
import { waitForBuild } from '../wait.js';
import { cli } from '../invocation.js';
import { promptLine, stdinIsTty } from '../prompt.js';

interface BuildOptions {
  json?: boolean;
  platform: Platform | 'all';
  profile: string;
  project?: string;
  message?: string;
  priority?: number;
  label?: Record<string, string>;
  output?: string;
  wait: boolean;
  download: boolean;
  oidcToken?: string;
  org?: string;
}

interface Planned {
  platform: Platform;
  profile: ResolvedProfile;
  credentials: CredentialsBundle | undefined;
}

/** One submitted build as `build --json` reports it. */
export interface BuildReport {
  build: Build;
  buildUrl: string;
  artifacts: DownloadedArtifact[];
}

export const buildCommand = action<BuildOptions>(
  command('build', 'Pack the Expo project, submit a build, follow it and download its artifacts', [
    'buildmesh build --platform android --profile production',
    'buildmesh build ./apps/mobile --platform all --profile preview --message "release 1.4"',
    'buildmesh build --platform ios --no-wait --json',
    'buildmesh build --platform android --label xcode=16.2 --output ./dist',
  ])
    .argument('[dir]', 'project directory', '.')
    .addOption(
      new Option('-p, --platform <platform>', 'platform to build; all = every platform the project targets (asked at a terminal when omitted; required otherwise)')
        .choices(['android', 'ios', 'web', 'all']),
    )
    .option('-e, --profile <name>', 'build profile from eas.json', 'production')
    .option('--project <name>', "project name on the controller (default: expo.slug, else package.json's name)")
    .option('-m, --message <text>', 'a note shown with the build')
    .option('--priority <n>', 'queue priority, -100…100 (higher first)', intOption(-100, 100))
    .option('--label <key=value>', 'require a worker label (repeatable), e.g. xcode=16.2', collectLabel)
    .option('-o, --output <dir>', 'where artifacts go (default ./build-artifacts/<build id>)')
    .option('--no-wait', 'submit and exit without following the build')
    .option('--no-download', 'wait for the build but do not download its artifacts')
    .option('--oidc-token <jwt>', "CI: exchange this OIDC ID token for a short-lived token (trust rules: buildmesh admin trust); default: BUILDMESH_OIDC_TOKEN")
    .option('--org <id|name>', 'CI: the org whose trust rules the OIDC ID token is exchanged under (required with an ID token); default: BUILDMESH_ORG')
    .addHelpText(
      'after',
      '\nExit status: 0 succeeded (or submitted with --no-wait), 1 failed, 3 canceled, 4 timed out, 130 interrupted (the build keeps running).\n' +
        'JSON (--json): { ok, exitCode, builds: [{ build, buildUrl, artifacts: [{ id, name, path, size, sha256, verified }] }] }\n',
    ),
  async ({ out, opts, args }) => {
    const projectDir = await resolveProjectDir(args[0]);
    opts.platform ??= await askPlatform(projectDir);

    // 1. Everything that can be checked locally, before a byte goes up.
    const plans = await planBuilds(projectDir, opts, out);
    const projectName = await detectProjectName(projectDir, opts.project);
    // A project below its git repository's root (a monorepo) is packed from that root, as EAS does.
    const tree = await listSourceFiles(projectDir);
    const { files } = tree;
    const summary = summarizeFiles(files);
    if (!files.some((f) => f.path === inSource(tree, 'package.json'))) {
      // e.g. a project inside a directory its enclosing git repository ignores.
      throw new CliError('NOTHING_TO_PACK', `${inSource(tree, 'package.json')} would not be uploaded (${files.length} files would be)`, 'check .gitignore/.easignore, or run `buildmesh doctor` to see what would be packed');
    }
    for (const plan of plans) checkCustomConfigIsPacked(plan.profile, tree);
    // The same validation the worker runs: an unsupported step is refused here, once, before any upload.
    for (const plan of plans) await checkCustomConfig(projectDir, plan.profile);
    if (summary.bytes > SOURCE_MAX_BYTES) {
      throw new CliError('SOURCE_TOO_LARGE', `the project is ${formatBytes(summary.bytes)}, above the ${formatBytes(SOURCE_MAX_BYTES)} limit`, 'add large files the build does not need to .easignore');
    }
    if (summary.bytes > SOURCE_WARN_BYTES) {
      out.warn(`the project is ${formatBytes(summary.bytes)}; largest files (add to .easignore if the build does not need them):`);
      for (const f of summary.largest.slice(0, 5)) process.stderr.write(`  ${formatBytes(f.size).padStart(10)}  ${terminalText(f.path)}\n`);
    }
    // What is packed is the repository root for a monorepo: its uncommitted changes count.
    const git = await gitState(tree.root);
    if (git.changes > 0) out.warn(`${git.changes} uncommitted change(s) are included: the working tree is packed, as it is`);

    // 2. The controller: a bad token is refused before packing, not after uploading.
    const { client, connection } = await connectForCi(opts.oidcToken, opts.org, out);
    await client.whoami(); // (the controller creates the project on its first build)

    // 3. Pack once, upload only if the org does not have these bytes yet, then one small request per platform.
    out.info(`Project ${out.c.bold(projectName)} · profile ${out.c.bold(opts.profile)} · ${summary.count} files, ${formatBytes(summary.bytes)}`);
    if (tree.appDir) out.info(`Monorepo: packing the repository root ${tree.root}; the app is ${out.c.bold(tree.appDir)}`);
    const submitted: Build[] = [];
    // Ctrl-C while packing or uploading: the controller creates a build only from a whole upload, so
    // the platform in flight was not submitted; say so (and what was), instead of dying silently.
    const onUploadSigint = () => {
      const pending = plans.filter((p) => !submitted.some((b) => b.platform === p.platform)).map((p) => p.platform);
      process.stderr.write(`\nInterrupted during the upload: nothing was submitted for ${pending.join(', ')}.\n`);
      for (const b of submitted) process.stderr.write(`Build ${b.id} (${b.platform}) was submitted and keeps running: ${cli()} cancel ${b.id} to stop it.\n`);
      process.exit(EXIT.interrupted);
    };
    process.on('SIGINT', onUploadSigint);
    await withPackedSource(tree, out, async (packed) => {
      const source = { sha256: packed.sha256, size: packed.size };
      await retryWithNotice(async () => {
        if ((await client.blobPresence([source])).present.includes(source.sha256)) {
          out.info(`source unchanged (${formatBytes(source.size)}): already on the controller, nothing to upload`);
          return;
        }
        const { stream, progress } = packed.open('uploading source');
        try {
          // Straight to the object store when the controller hands out a presigned URL, else to the controller.
          await client.sendBlob(source, () => stream);
          progress.done(`uploaded source (${formatBytes(source.size)} compressed)`);
        } catch (err) {
          progress.fail();
          stream.destroy();
          throw err;
        }
      });
      for (const plan of plans) {
        const spec: CreateBuildSpec = {
          project: projectName,
          platform: plan.platform,
          profile: plan.profile,
          labels: { ...labelsForProfile(plan.profile, plan.platform), ...opts.label },
          ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
          ...(opts.message ? { message: opts.message } : {}),
          ...(git.commit ? { gitCommit: git.commit } : {}),
          ...(tree.appDir ? { appDir: tree.appDir } : {}),
        };
        // One key per submit, sent again with every retry of it: the controller returns the first build.
        const idempotencyKey = randomUUID();
        const build = await retryWithNotice(() =>
          client.createBuildFromBlob({ spec, source, ...(plan.credentials ? { credentials: plan.credentials } : {}) }, { idempotencyKey }),
        );
        submitted.push(build);
        out.info(`${out.c.green('✔')} Build ${out.c.bold(build.id)} (${build.platform}) queued`);
        out.info(`  ${buildUrl(connection.url, build.id)}`);
      }
    });
    // (A failed upload leaves the handler: the command is ending anyway.)
    process.off('SIGINT', onUploadSigint);

    const reports: BuildReport[] = submitted.map((build) => ({ build, buildUrl: buildUrl(connection.url, build.id), artifacts: [] }));
    if (!opts.wait) {
      for (const b of submitted) out.info(`Follow it with: ${cli()} logs -f ${b.id}`);
      await warnWhenNoWorkerCanTake(client, submitted, out);
      if (out.json) out.printJson({ ok: true, exitCode: EXIT.ok, builds: reports });
      return EXIT.ok;
    }

    // 4. Wait for each build in turn (the later ones' logs are replayed from the start).
    let exitCode: number = EXIT.ok;
    for (const [i, report] of reports.entries()) {
      if (reports.length > 1) out.info(out.c.bold(`\n━━ ${report.build.platform} · ${report.build.id} ━━`));
      const outputDir = !opts.download
        ? null
        : opts.output
          ? reports.length > 1 ? join(resolve(opts.output), report.build.platform) : resolve(opts.output)
          : resolve('build-artifacts', report.build.id);
      const outcome = await waitForBuild(client, report.build, { out, outputDir, started: submitted });
      report.build = outcome.build;
      report.artifacts = outcome.artifacts;
      if (exitCode === EXIT.ok) exitCode = outcome.exitCode;
      if (outcome.interrupted) {
        for (const rest of reports.slice(i + 1)) out.info(`Build ${rest.build.id} (${rest.build.platform}) keeps running too: ${cli()} logs -f ${rest.build.id}`);
        break;
      }
    }
    if (out.json) out.printJson({ ok: exitCode === EXIT.ok, exitCode, builds: reports });
    return exitCode;
  },
);

/** No --platform: ask at a terminal (the platforms the project targets, then all), refuse otherwise. */
async function askPlatform(projectDir: string): Promise<Platform | 'all'> {
  if (!stdinIsTty()) throw new CliError('USAGE', '--platform is required when stdin is not a terminal', 'pass --platform android|ios|web|all', EXIT.usage);
  const targets = await detectPlatforms(projectDir);
  const choices = [...targets, 'all'] as Array<Platform | 'all'>;
  for (;;) {
    const answer = (await promptLine(`Platform (${choices.join(', ')}) [${choices[0]}]: `, choices[0])).trim();
    if ((choices as string[]).includes(answer)) return answer as Platform | 'all';
    process.stderr.write(`"${answer}" is not one of ${choices.join(', ')}\n`);
  }
}

/** After a --no-wait submit: a build no online worker can take waits silently unless we say so. */
async function warnWhenNoWorkerCanTake(client: BuildMeshClient, builds: readonly Build[], out: Output): Promise<void> {
  const workers = await client.listWorkers().then((r) => r.workers, () => null);
  if (!workers) return;
  for (const b of builds) {
    const able = workers.filter((w) => w.state === 'online' && w.platforms.includes(b.platform) && Object.entries(b.labels).every(([k, v]) => w.labels[k] === v));
    if (able.length === 0) {
      const labels = Object.keys(b.labels).length ? ` with ${Object.entries(b.labels).map(([k, v]) => `${k}=${v}`).join(',')}` : '';
      out.warn(`no online worker can build ${b.platform}${labels}: build ${b.id} waits until one can (\`${cli()} workers\` shows who is there, \`${cli()} doctor\` what they lack)`);
    }
  }
}

/** Resolves the profile for each platform requested (and loads local credentials when the profile asks). */
async function planBuilds(projectDir: string, opts: BuildOptions, out: Output): Promise<Planned[]> {
  const easJson = await readEasJson(projectDir);
  const platforms = opts.platform === 'all' ? await detectPlatforms(projectDir) : [opts.platform];
  if (platforms.length === 0) throw new CliError('NO_PLATFORMS', 'the project targets no platform (expo.platforms is empty)', 'set expo.platforms in app.json, or pass --platform');
  const plans: Planned[] = [];
  for (const platform of platforms) {
    const { profile, warnings } = resolveBuildProfile(easJson, opts.profile, platform);
    for (const w of warnings) out.warn(`eas.json (${platform}): ${w}`);
    let credentials: CredentialsBundle | undefined;
    if (platform !== 'web' && profile.credentialsSource === 'local' && !profile.withoutCredentials) {
      // credentialsSource "local": the project's credentials.json travels with this build only.
      const iosTargetName = (await detectIosTargetName(projectDir)) ?? 'app';
      credentials = await readCredentialsJson(projectDir, { platforms: [platform], iosTargetName });
    }
    plans.push({ platform, profile, credentials });
  }
  return plans;
}

/** A profile's custom build config must exist and be part of the upload (not ignored). */
function checkCustomConfigIsPacked(profile: ResolvedProfile, source: SourceFiles): void {
  if (!profile.config) return;
  const path = `.eas/build/${profile.config}`;
  if (!source.files.some((f) => f.path === inSource(source, path))) {
    throw new CliError(
      'CUSTOM_CONFIG_NOT_PACKED',
      `profile "${profile.name}" uses the custom build config ${path}, which is missing or ignored (.gitignore/.easignore)`,
      `create ${path} or make sure it is not ignored`,
    );
  }
}

interface PackedSource {
  sha256: string;
  size: number;
  open(label: string): { stream: Readable; progress: ReturnType<typeof createProgress> };
}

/**
 * Packs the project once into a temp file, hashing it on the way (the source is named by its
 * sha256: the controller is asked whether it has it before a byte is sent), and gives `fn` a way
 * to read it for the upload.
 */
async function withPackedSource(source: SourceFiles, out: Output, fn: (packed: PackedSource) => Promise<void>): Promise<void> {
  const { files } = source;
  const summary = summarizeFiles(files);
  // node-tar adds a 512-byte header and padding per entry; close enough for a progress bar.
  const tarBytes = summary.bytes + summary.count * 768 + 1024;
  const dir = await mkdtemp(join(tmpdir(), 'buildmesh-source-'));
  // A monorepo's upload carries a shallow .git of the repository (none for a plain project, as before).
  const git = source.appDir ? await shallowGitClone(source.root) : null;
  if (source.appDir && !git) out.warn('no shallow .git is uploaded (the repository has no commit yet, or git clone failed): git commands in the build will find no repository');
  try {
    const file = join(dir, 'source.tar.gz');
    const packing = createProgress('packing', tarBytes);
    const hash = createHash('sha256');
    let size = 0;
    const hasher = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    const extra = git ? { extra: { cwd: git.dir, paths: git.paths, bytes: git.bytes } } : {};
    await pipeline(packProject(source.root, files, { onProgress: (n) => packing.update(n), ...extra }), hasher, createWriteStream(file, { mode: 0o600 }));
    packing.done(`packed ${summary.count} files into ${formatBytes(size)}`);
    await fn({
      sha256: hash.digest('hex'),
      size,
      open: (label) => {
        const progress = createProgress(label, size);
        let sent = 0;
        const meter = new Transform({
          transform(chunk: Buffer, _enc, done) {
            sent += chunk.length;
            progress.update(sent);
            done(null, chunk);
          },
        });
        const source = createReadStream(file);
        source.on('error', (err) => meter.destroy(err));
        return { stream: source.pipe(meter), progress };
      },
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
    await git?.remove();
  }
}
