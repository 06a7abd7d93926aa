// A project counts as bare (prebuild skipped) only when its native project is there, as EAS
// decides: android/app/build.gradle (or .kts). A stray android/ folder — a google-services.json
// kept there, a leftover gradlew — still runs prebuild, and its gradlew is not "fixed" first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { planPipeline } from '../src/pipelines/index.js';
import { makeJob, makeTempDir } from './support/simple-phase-runner.js';

function project(t: { after(fn: () => void): void }, files: Record<string, string>): string {
  const dir = makeTempDir(t);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'p', dependencies: { expo: '~57.0.0' } }));
  writeFileSync(join(dir, 'package-lock.json'), '{}');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

async function phaseNames(projectDir: string): Promise<string[]> {
  const plan = await planPipeline({ job: makeJob('android', {}), projectDir, workspaceRoot: projectDir, credentials: null, secrets: {} });
  return plan.phases.map((p) => p.name);
}

void test('a stray android/ folder without app/build.gradle still runs prebuild', async (t) => {
  const stray = await phaseNames(project(t, { 'android/google-services.json': '{}', 'android/gradlew': '#!/bin/sh\n' }));
  assert.ok(stray.includes('PREBUILD'), stray.join(', '));
  assert.ok(!stray.includes('FIX_GRADLEW'));

  for (const file of ['android/app/build.gradle', 'android/app/build.gradle.kts']) {
    const bare = await phaseNames(project(t, { [file]: '', 'android/gradlew': '#!/bin/sh\n' }));
    assert.ok(!bare.includes('PREBUILD'), `${file}: bare`);
    assert.ok(bare.includes('FIX_GRADLEW'));
  }
});
