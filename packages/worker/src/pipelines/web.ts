/**
 * The web pipeline: setup and install as for the native platforms, then `expo export --platform
 * web` into dist/, packed as `build/web-<build id>.tar.gz` (the files of dist/ at the archive's
 * root, so it unpacks to index.html and _expo/…), which the runner collects as the application
 * archive. No prebuild: web has no native folder.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { c as createTar } from 'tar';
import type { Phase } from '../runner/plan.js';
import { WEB_EXPORT_FAILURES } from './classify.js';
import { completionHookPhases, postInstallHookPhase, setupPhases } from './common.js';
import type { PipelinePlan, PlanContext } from './context.js';
import { PipelineError } from './pipeline-error.js';

export const WEB_OUTPUT_DIR = 'dist';

export function webArchivePath(buildId: string): string {
  return `build/web-${buildId}.tar.gz`;
}

export async function planWeb(ctx: PlanContext): Promise<PipelinePlan> {
  const archive = webArchivePath(ctx.job.build.id);
  const phases: (Phase | null)[] = [
    ...setupPhases(ctx),
    postInstallHookPhase(ctx),
    {
      name: 'EXPORT_WEB',
      title: 'Export for web',
      steps: [
        { kind: 'command', command: { argv: ['npx', 'expo', 'export', '--platform', 'web', '--output-dir', WEB_OUTPUT_DIR] } },
        {
          kind: 'task',
          describe: `pack ${WEB_OUTPUT_DIR}/ into ${archive}`,
          run: async ({ log }) => {
            const outDir = join(ctx.projectDir, WEB_OUTPUT_DIR);
            const entries = existsSync(outDir) ? (await readdir(outDir)).sort() : [];
            if (!entries.includes('index.html')) {
              throw new PipelineError('WEB_EXPORT_FAILED', `expo export produced no ${WEB_OUTPUT_DIR}/index.html.`);
            }
            const file = join(ctx.projectDir, archive);
            await mkdir(join(ctx.projectDir, 'build'), { recursive: true });
            await rm(file, { force: true });
            await createTar({ gzip: true, file, cwd: outDir, portable: true }, entries);
            log(`Packed ${WEB_OUTPUT_DIR}/ (${entries.join(', ')}) into ${archive}.`);
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
