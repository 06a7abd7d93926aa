/**
 * What every platform planner starts from: the job, where the project is, the project's
 * package.json and package manager, and the build's environment. Planning reads the unpacked
 * project (lockfiles, package.json hooks, whether native folders were committed, local
 * credentials) but runs nothing: the plan is data for the runner.
 */
import { randomUUID } from 'node:crypto';
import { totalmem } from 'node:os';
import { join, relative, sep } from 'node:path';
import type { BuildJob, CredentialsBundle, Platform, ResolvedProfile } from '@buildmesh/protocol';
import type { Phase } from '../runner/plan.js';
import { buildEnv } from './build-env.js';
import { detectInstallPackageManager, resolveInstallDir, type PackageJson, type PackageManager } from './package-manager.js';
import { PipelineError } from './pipeline-error.js';
import { OutsideWorkspaceError, readFileInside } from '../workspace/inside.js';

export interface PlanInput {
  job: BuildJob;
  /** Absolute path of the app: the unpacked source, or its `appDir` folder (a monorepo). */
  projectDir: string;
  /**
   * Absolute path of the unpacked source (a monorepo's repository root; EAS_BUILD_WORKINGDIR);
   * defaults to projectDir.
   */
  repoDir?: string;
  /** Absolute path of the attempt's workspace; credentials are written below it, outside the project. */
  workspaceRoot: string;
  /** The build's signing credentials, fetched through the attempt; null when it has none. */
  credentials: CredentialsBundle | null;
  /** The project's secrets (decrypted), exposed to the build as environment variables. */
  secrets: Record<string, string>;
  /**
   * The project's file secrets (name → content in base64): each is written to a file below the
   * workspace, outside the project, for the build (PREPARE_SECRET_FILES) and its variable holds
   * the path, as on EAS; the files are removed when the build ends.
   */
  fileSecrets?: Record<string, string>;
  /**
   * The attempt's environment, computed once per attempt by the runner (buildEnv); the plan adds
   * to this same object. Tests may leave it out: it is computed from the job and secrets then.
   */
  env?: Record<string, string>;
  /** The worker's OS; defaults to process.platform. iOS needs darwin. */
  hostPlatform?: NodeJS.Platform;
  /** iOS: whether `fastlane` is installed; looked up on PATH when absent. */
  fastlane?: boolean;
  /** Where provisioning profiles are installed (`<home>/Library/MobileDevice/…`); defaults to os.homedir(). */
  homeDir?: string;
  /** The machine's memory in bytes, which sizes the Gradle and Node heaps; defaults to os.totalmem(). */
  totalMemBytes?: number;
  /** The random ids in file names (keystore, keychain, profiles) and throwaway passwords; tests fix them. */
  randomId?: () => string;
}

export interface PipelineArtifacts {
  /** Globs relative to the project directory: the installable app (apk/aab, ipa, simulator tar.gz, web tar.gz). */
  applicationArchive: string[];
  /** Globs relative to the project directory: the profile's `buildArtifactPaths`. */
  buildArtifacts: string[];
}

export interface PipelinePlan {
  phases: Phase[];
  /** The environment every command of the build gets (see buildEnv), plus what the pipeline adds. */
  env: Record<string, string>;
  artifacts: PipelineArtifacts;
  /**
   * Values the log must mask, besides the project secrets: keystore and certificate passwords,
   * the throwaway keychain password. They also appear in Command.env of the steps that need them.
   */
  redact: string[];
}

export interface PlanContext {
  input: PlanInput;
  job: BuildJob;
  profile: ResolvedProfile;
  platform: Platform;
  projectDir: string;
  /** The unpacked source's root (projectDir unless the app is a monorepo's subfolder). */
  repoDir: string;
  /** Where dependencies are installed: the workspace root holding the lockfile, else projectDir. */
  installDir: string;
  /** installDir as a command's cwd (relative to projectDir, e.g. `../..`); undefined when it is projectDir. */
  installCwd: string | undefined;
  workspaceRoot: string;
  packageJson: PackageJson;
  /** package.json exactly as committed, for READ_PACKAGE_JSON. */
  packageJsonText: string;
  pm: PackageManager;
  env: Record<string, string>;
  /** File secrets and where PREPARE_SECRET_FILES writes them. */
  secretFiles: SecretFile[];
  newId: () => string;
  redact: string[];
}

export interface SecretFile {
  name: string;
  path: string;
  contentBase64: string;
}

/** Where file secrets are written, relative to the attempt's workspace. */
export const SECRET_FILES_DIR = 'secret-files';

/**
 * What the log masks of a file secret: its base64 form, its text, and each of its lines of 12
 * characters or more (the masker works line by line, so a multi-line file is masked per line).
 */
function secretFileRedactions(file: SecretFile): string[] {
  const text = Buffer.from(file.contentBase64, 'base64').toString('utf8');
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length >= 12);
  return [...new Set([file.contentBase64, text.trim(), ...lines])].filter((v) => v.length >= 12);
}

/**
 * File secrets: the variable of each holds its file's path (over the profile env, like any
 * secret). The build's identity variables (EAS_BUILD_*) are never replaced.
 */
function secretFiles(input: PlanInput, env: Record<string, string>): SecretFile[] {
  const files: SecretFile[] = [];
  for (const [name, contentBase64] of Object.entries(input.fileSecrets ?? {})) {
    if (name.startsWith('EAS_BUILD') || !/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name)) continue;
    const path = join(input.workspaceRoot, SECRET_FILES_DIR, name);
    env[name] = path;
    files.push({ name, path, contentBase64 });
  }
  return files;
}

export async function createPlanContext(input: PlanInput): Promise<PlanContext> {
  const { job, projectDir } = input;
  let packageJsonText: string;
  try {
    // A custom build reads it at its first eas/prebuild or eas/install_node_modules, after its own
    // steps ran: never through a link, never a FIFO or an endless device.
    packageJsonText = await readFileInside(projectDir, join(projectDir, 'package.json'));
  } catch (err) {
    if (err instanceof OutsideWorkspaceError) throw new PipelineError('INSTALL_FAILED', `package.json: ${err.message}`);
    throw new PipelineError('INSTALL_FAILED', 'The project has no package.json at its root; an Expo project needs one.');
  }
  let packageJson: PackageJson;
  try {
    const parsed: unknown = JSON.parse(packageJsonText);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    packageJson = parsed as PackageJson;
  } catch (err) {
    throw new PipelineError('INSTALL_FAILED', `package.json is not valid JSON (${(err as Error).message}).`);
  }
  const repoDir = input.repoDir ?? projectDir;
  const installDir = resolveInstallDir(repoDir, projectDir);
  const env = input.env ?? buildEnv({ job, projectDir: repoDir, secrets: input.secrets });
  env.NODE_OPTIONS = withNodeHeap(env.NODE_OPTIONS, input.totalMemBytes ?? totalmem());
  const files = secretFiles(input, env);
  return {
    input,
    job,
    profile: job.build.profile,
    platform: job.build.platform,
    projectDir,
    repoDir,
    installDir,
    installCwd: installDir === projectDir ? undefined : relative(projectDir, installDir).split(sep).join('/'),
    workspaceRoot: input.workspaceRoot,
    packageJson,
    packageJsonText,
    pm: detectInstallPackageManager(installDir, projectDir, packageJson),
    env,
    secretFiles: files,
    newId: input.randomId ?? randomUUID,
    redact: files.flatMap(secretFileRedactions),
  };
}

/**
 * NODE_OPTIONS with a V8 heap of half the machine's memory (at least 2 GiB, at most 8 GiB), so a
 * large app's Metro bundle does not hit Node's default limit first; the profile's own
 * NODE_OPTIONS are kept, and a `--max-old-space-size` it sets wins.
 */
export function withNodeHeap(existing: string | undefined, totalMemBytes: number): string {
  if (existing && /--max[-_]old[-_]space[-_]size/.test(existing)) return existing;
  const mb = Math.min(8192, Math.max(2048, Math.floor(totalMemBytes / 2 / 1024 / 1024)));
  return [existing?.trim(), `--max-old-space-size=${mb}`].filter(Boolean).join(' ');
}

/** The project's npm scripts that are strings (the hooks EAS runs are looked up here). */
export function hasScript(ctx: PlanContext, name: string): boolean {
  const scripts = ctx.packageJson.scripts;
  return typeof scripts === 'object' && scripts !== null && typeof scripts[name] === 'string';
}
