/**
 * An Expo-like project whose build profiles use custom build configs (.eas/build/*.yml), so a
 * build runs real steps on a real worker in seconds without an Android or iOS toolchain:
 *   test — writes out/app.txt, collected by buildArtifactPaths
 *   fail — a step exits 3
 *   slow — prints line-1 … line-N, one every 100 ms
 *   long — sleeps for ten minutes (something to cancel)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { customConfigYaml } from '../../../../test/helpers/builds.js';

export const ARTIFACT_TEXT = 'hello from a buildmesh test build\n';
export const SLOW_LINES = 60;

export function makeFixtureProject(t: { after(fn: () => void): void }, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'buildmesh-fixture-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tree: Record<string, string> = {
    'package.json': JSON.stringify({ name: 'fixture-app', version: '1.0.0', private: true }, null, 2),
    'app.json': JSON.stringify({ expo: { name: 'Fixture App', slug: 'fixture-app', platforms: ['web'] } }, null, 2),
    'eas.json': JSON.stringify(
      {
        cli: { version: '>= 16.0.0' },
        build: {
          test: { config: 'test.yml', buildArtifactPaths: ['out/app.txt'] },
          fail: { config: 'fail.yml' },
          slow: { config: 'slow.yml' },
          long: { config: 'long.yml' },
        },
      },
      null,
      2,
    ),
    '.eas/build/test.yml': customConfigYaml(
      [{ name: 'write the artifact', command: `mkdir -p out && printf '%s' '${ARTIFACT_TEXT}' > out/app.txt && echo wrote out/app.txt` }],
      'test',
    ),
    '.eas/build/fail.yml': customConfigYaml([{ name: 'fail on purpose', command: 'echo about to fail; exit 3' }], 'fail'),
    '.eas/build/slow.yml': customConfigYaml(
      [{ name: 'count slowly', command: `i=1; while [ $i -le ${SLOW_LINES} ]; do echo "line-$i"; i=$((i+1)); sleep 0.1; done` }],
      'slow',
    ),
    '.eas/build/long.yml': customConfigYaml([{ name: 'sleep', command: 'echo sleeping; sleep 600' }], 'long'),
    ...files,
  };
  for (const [rel, content] of Object.entries(tree)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  return dir;
}
