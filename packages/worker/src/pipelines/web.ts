/**
 * The web pipeline: setup and install as for the native platforms, then `expo export --platform
 * web` into the profile's `outputDir` (web section; default dist/), packed as
 * `build/web-<build id>.tar.gz` (the files of the output dir at the archive's root, so it unpacks
 * to index.html and _expo/…), which the runner collects as the application archive unless the
 * web section names its own `applicationArchivePath`. No prebuild: web has no native folder. A
 * project without `expo` in its dependencies fails EXPORT_WEB before npx runs (WEB_EXPO_MISSING):
 * npx would otherwise spend a minute downloading expo only to fail.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import { c as createTar } from 'tar';
import type { Phase } from '../runner/plan.js';
import { WEB_EXPORT_FAILURES } from './classify.js';
import { completionHookPhases, postInstallHookPhase, setupPhases } from './common.js';
import type { PipelinePlan, PlanContext } from './context.js';
import { PipelineError } from './pipeline-error.js';
import { assertRealDirInside } from '../workspace/inside.js';

export const WEB_OUTPUT_DIR = 'dist';

export function webArchivePath(buildId: string): string {
  return `build/web-${buildId}.tar.gz`;
}

/** The export's output directory: the profile's outputDir, kept inside the project. */
export function webOutputDir(outputDir: string | undefined): string {
  if (outputDir === undefined) return WEB_OUTPUT_DIR;
  const dir = normalize(outputDir).replace(/\/+$/, '');
  if (!dir || dir === '.' || isAbsolute(dir) || dir.split('/').includes('..')) {
    throw new PipelineError('EAS_JSON_INVALID', `The web section's outputDir "${outputDir}" must be a directory inside the project.`);
  }
  return dir;
}

function refuseLink(err: Error): never {
  throw new PipelineError('WEB_EXPORT_FAILED', err.message);
}

function dependsOnExpo(ctx: PlanContext): boolean {
  const { dependencies, devDependencies } = ctx.packageJson;
  return [dependencies, devDependencies].some((deps) => typeof deps === 'object' && deps !== null && Object.hasOwn(deps, 'expo'));
}

export async function planWeb(ctx: PlanContext): Promise<PipelinePlan> {
  const archive = webArchivePath(ctx.job.build.id);
  const outputDir = webOutputDir(ctx.profile.outputDir);
  const phases: (Phase | null)[] = [
    ...setupPhases(ctx),
    postInstallHookPhase(ctx),
    {
      name: 'EXPORT_WEB',
      title: 'Export for web',
      steps: [
        {
          kind: 'task',
          describe: 'check that the project depends on expo',
          run: async () => {
            if (!dependsOnExpo(ctx)) {
              throw new PipelineError('WEB_EXPO_MISSING', 'The project does not depend on expo, which web builds run (`expo export --platform web`): add it with `npx expo install expo`, or give the web section a custom `config`.');
            }
          },
        },
        { kind: 'command', command: { argv: ['npx', 'expo', 'export', '--platform', 'web', '--output-dir', outputDir] } },
        {
          kind: 'task',
          describe: `pack ${outputDir}/ into ${archive}`,
          run: async ({ log }) => {
            const outDir = join(ctx.projectDir, outputDir);
            // The export is the build's code: dist/ (or build/) may now be a link to a host folder, which
            // the worker (outside the sandbox) must neither list, pack nor write into.
            if (existsSync(outDir)) await assertRealDirInside(ctx.projectDir, outDir).catch(refuseLink);
            const entries = existsSync(outDir) ? (await readdir(outDir)).sort() : [];
            if (!entries.includes('index.html')) {
              throw new PipelineError('WEB_EXPORT_FAILED', `expo export produced no ${outputDir}/index.html.`);
            }
            const file = join(ctx.projectDir, archive);
            await mkdir(join(ctx.projectDir, 'build'), { recursive: true });
            await assertRealDirInside(ctx.projectDir, join(ctx.projectDir, 'build')).catch(refuseLink);
            await rm(file, { force: true });
            await createTar({ gzip: true, file, cwd: outDir, portable: true }, entries);
            log(`Packed ${outputDir}/ (${entries.join(', ')}) into ${archive}.`);
          },
        },
      ],
      classify: WEB_EXPORT_FAILURES,
    },
    ...completionHookPhases(ctx),
  ];
  return {
    phases: phases.filter((p): p is Phase => p !== null),
    env: ctx.env,
    artifacts: {
      applicationArchive: [ctx.profile.applicationArchivePath ?? archive],
      buildArtifacts: ctx.profile.buildArtifactPaths ?? [],
    },
    redact: ctx.redact,
  };
}
