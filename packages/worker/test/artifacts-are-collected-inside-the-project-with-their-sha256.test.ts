import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { list } from 'tar';
import { BuildFailure } from '../src/runner/build-failure.js';
import { artifactName, artifactSpecs, collectArtifacts, matchArtifacts, profileArtifactPaths } from '../src/runner/artifacts.js';
import { sampleJob, tempDir } from './support/runner-fixtures.js';

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

function project(t: { after(fn: () => void): void }): { root: string; dir: string; tmp: string } {
  const root = tempDir(t);
  const dir = join(root, 'project');
  const tmp = join(root, 'tmp');
  mkdirSync(join(dir, 'android/app/build/outputs/apk/release'), { recursive: true });
  mkdirSync(join(dir, 'dist/assets'), { recursive: true });
  mkdirSync(tmp);
  writeFileSync(join(dir, 'android/app/build/outputs/apk/release/app-release.apk'), Buffer.alloc(300_000, 7));
  writeFileSync(join(dir, 'dist/index.html'), '<html></html>');
  writeFileSync(join(dir, 'dist/assets/app.js'), 'console.log(1)');
  writeFileSync(join(root, 'outside.apk'), 'not part of the build');
  symlinkSync(join(root, 'outside.apk'), join(dir, 'android/app/build/outputs/apk/release/escape.apk'));
  symlinkSync(root, join(dir, 'android/app/build/outputs/up'));
  return { root, dir, tmp };
}

void test('globs match files and directories in the project, never through or to a symlink', async (t) => {
  const { dir } = project(t);
  assert.deepEqual(await matchArtifacts(dir, ['android/app/build/outputs/**/*.{apk,aab}']), ['android/app/build/outputs/apk/release/app-release.apk']);
  // A directory and files inside it: the directory alone.
  assert.deepEqual(await matchArtifacts(dir, ['dist', 'dist/**/*.js']), ['dist']);
  await assert.rejects(matchArtifacts(dir, ['../outside.apk']), (e: unknown) => e instanceof BuildFailure);
  await assert.rejects(matchArtifacts(dir, ['/etc/passwd']), (e: unknown) => e instanceof BuildFailure);
});

void test('files are hashed as they are on disk; a directory is packed into a tar.gz whose hash is the upload\'s', async (t) => {
  const { dir, tmp } = project(t);
  const logged: string[] = [];
  const files = await collectArtifacts(
    dir,
    tmp,
    [
      { kind: 'application-archive', patterns: ['android/**/*.apk'], required: true },
      { kind: 'build-artifacts', patterns: ['dist'], required: false },
    ],
    (s) => logged.push(s),
  );
  assert.equal(files.length, 2);
  const [apk, web] = files;
  assert.equal(apk!.name, 'app-release.apk');
  assert.equal(apk!.kind, 'application-archive');
  assert.equal(apk!.size, 300_000);
  assert.equal(apk!.sha256, sha256(readFileSync(join(dir, 'android/app/build/outputs/apk/release/app-release.apk'))));
  assert.equal(web!.name, 'dist.tar.gz');
  assert.equal(web!.kind, 'build-artifacts');
  const packed = readFileSync(web!.path);
  assert.equal(web!.size, packed.length);
  assert.equal(web!.sha256, sha256(packed));
  const entries: string[] = [];
  await list({ file: web!.path, onReadEntry: (e) => entries.push(e.path) });
  assert.deepEqual(entries.sort(), ['dist/', 'dist/assets/', 'dist/assets/app.js', 'dist/index.html']);
});

void test('a required application archive that matches nothing fails with ARTIFACT_NOT_FOUND; optional ones only log', async (t) => {
  const { dir, tmp } = project(t);
  await assert.rejects(
    collectArtifacts(dir, tmp, [{ kind: 'application-archive', patterns: ['ios/build/*.ipa'], required: true }], () => {}),
    (e: unknown) => e instanceof BuildFailure && e.code === 'ARTIFACT_NOT_FOUND' && /ios\/build\/\*\.ipa/.test(e.message),
  );
  const logged: string[] = [];
  assert.deepEqual(await collectArtifacts(dir, tmp, [{ kind: 'build-artifacts', patterns: ['reports/*.xml'], required: false }], (s) => logged.push(s)), []);
  assert.equal(logged.length, 1);
});

void test('a custom config collects what the profile names; an application archive it names is required', () => {
  assert.deepEqual(artifactSpecs(profileArtifactPaths(sampleJob().build.profile)), []);
  const profile = sampleJob({ profile: { applicationArchivePath: 'out/app.zip', buildArtifactPaths: ['logs/*.txt'] } }).build.profile;
  assert.deepEqual(artifactSpecs(profileArtifactPaths(profile)), [
    { kind: 'application-archive', patterns: ['out/app.zip'], required: true },
    { kind: 'build-artifacts', patterns: ['logs/*.txt'], required: false },
  ]);
});

void test('artifact names are safe for URLs and unique within a build', () => {
  const taken = new Set<string>();
  assert.equal(artifactName('a/b/app.apk', taken), 'app.apk');
  assert.equal(artifactName('c/app.apk', taken), 'app-2.apk');
  assert.equal(artifactName('x/.hidden file!.txt', taken), 'hidden_file_.txt');
  assert.match(artifactName('x/' + 'n'.repeat(300), taken), /^[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,199}$/);
});

void test('a monorepo app: leading ../ in a glob may reach the source root, never beyond it, nor through a link', async (t) => {
  const source = join(tempDir(t), 'source');
  const app = join(source, 'apps/mobile');
  mkdirSync(join(app, 'build'), { recursive: true });
  mkdirSync(join(source, 'packages/lib/reports'), { recursive: true });
  writeFileSync(join(app, 'build/app.apk'), 'apk');
  writeFileSync(join(source, 'packages/lib/reports/test.xml'), '<ok/>');
  writeFileSync(join(source, '..', 'outside.txt'), 'not part of the source');
  symlinkSync(join(source, '..', 'outside.txt'), join(source, 'packages/lib/reports/escape.xml'));
  assert.deepEqual(
    await matchArtifacts(app, ['build/*.apk', '../../packages/lib/reports/*.xml'], source),
    ['../../packages/lib/reports/test.xml', 'build/app.apk'],
  );
  await assert.rejects(matchArtifacts(app, ['../../../outside.txt'], source), (e: unknown) => e instanceof BuildFailure);
  await assert.rejects(matchArtifacts(app, ['build/../../../../outside.txt'], source), (e: unknown) => e instanceof BuildFailure);
  // Without a source root above it (a plain project), ../ is refused as before.
  await assert.rejects(matchArtifacts(app, ['../../packages/lib/reports/*.xml']), (e: unknown) => e instanceof BuildFailure);
  const files = await collectArtifacts(app, tempDir(t), [{ kind: 'build-artifacts', patterns: ['../../packages/lib/reports/*.xml'], required: true }], () => {}, source);
  assert.deepEqual(files.map((f) => [f.name, f.sha256]), [['test.xml', sha256('<ok/>')]]);
});
