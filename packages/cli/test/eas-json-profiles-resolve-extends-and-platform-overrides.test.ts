// Build profiles resolve from eas.json as eas-cli resolves them: `extends` chains parent-first,
// env merged key by key (child over parent, platform over common), the platform section over the
// common fields, deprecated fields mapped, unknown ones reported. Bad input is a typed error that
// says what to fix, and every result validates against the ResolvedProfile schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from 'typebox/value';
import { ResolvedProfile } from '@buildmesh/protocol';
import {
  EasJsonError, labelsForProfile, listBuildProfiles, parseEasJson, readEasJson, resolveBuildProfile, type EasJsonErrorCode,
} from '../src/eas-json.js';

const EAS_JSON = {
  cli: { version: '>= 16.0.0' },
  build: {
    base: {
      node: '20.19.0',
      env: { API_URL: 'https://api.example.com', SHARED: 'base' },
      android: { image: 'sdk-57', env: { ANDROID_ONLY: 'base' } },
      ios: { image: 'macos-sequoia-15.6-xcode-26.0', cocoapods: '1.16.2' },
    },
    production: {
      extends: 'base',
      distribution: 'store',
      channel: 'production',
      env: { SHARED: 'production', APP_VARIANT: 'prod' },
      android: { buildType: 'app-bundle', env: { SHARED: 'android-production' } },
      ios: { buildConfiguration: 'Release' },
    },
    preview: {
      extends: 'production',
      distribution: 'internal',
      env: { APP_VARIANT: 'preview' },
      android: { buildType: 'apk', gradleCommand: ':app:assembleRelease' },
      ios: { simulator: true, enterpriseProvisioning: 'adhoc' },
    },
    development: { developmentClient: true, distribution: 'internal', prebuildCommand: 'prebuild --template ./template.tgz' },
  },
  submit: { production: {} },
};

function assertValid(profile: unknown): asserts profile is ResolvedProfile {
  const errors = Value.Errors(ResolvedProfile, profile).map((e) => `${e.instancePath} ${e.message}`);
  assert.deepEqual(errors, []);
  assert.ok(Value.Check(ResolvedProfile, profile));
}

function rejects(fn: () => unknown, code: EasJsonErrorCode, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof EasJsonError, `expected EasJsonError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

void test('an extends chain merges parent-first; env merges key by key; the platform section wins over common fields', () => {
  const android = resolveBuildProfile(EAS_JSON, 'preview', 'android');
  assertValid(android.profile);
  assert.deepEqual(android.profile, {
    name: 'preview',
    node: '20.19.0',
    distribution: 'internal',
    channel: 'production',
    image: 'sdk-57',
    buildType: 'apk',
    gradleCommand: ':app:assembleRelease',
    env: { API_URL: 'https://api.example.com', SHARED: 'android-production', APP_VARIANT: 'preview', ANDROID_ONLY: 'base' },
  });
  assert.deepEqual(android.warnings, []);

  const ios = resolveBuildProfile(EAS_JSON, 'preview', 'ios');
  assertValid(ios.profile);
  assert.deepEqual(ios.profile, {
    name: 'preview',
    node: '20.19.0',
    distribution: 'internal',
    channel: 'production',
    image: 'macos-sequoia-15.6-xcode-26.0',
    cocoapods: '1.16.2',
    buildConfiguration: 'Release',
    simulator: true,
    enterpriseProvisioning: 'adhoc',
    env: { API_URL: 'https://api.example.com', SHARED: 'production', APP_VARIANT: 'preview' },
  });
});

void test('web uses the common fields only; a profile without env resolves with an empty env', () => {
  const web = resolveBuildProfile(EAS_JSON, 'production', 'web');
  assertValid(web.profile);
  assert.deepEqual(web.profile, {
    name: 'production',
    node: '20.19.0',
    distribution: 'store',
    channel: 'production',
    env: { API_URL: 'https://api.example.com', SHARED: 'production', APP_VARIANT: 'prod' },
  });
  const development = resolveBuildProfile(EAS_JSON, 'development', 'android');
  assertValid(development.profile);
  assert.deepEqual(development.profile.env, {});
  assert.equal(development.profile.prebuildCommand, 'prebuild --template ./template.tgz');
});

void test('an unknown profile is PROFILE_NOT_FOUND and lists the available ones', () => {
  rejects(() => resolveBuildProfile(EAS_JSON, 'staging', 'android'), 'PROFILE_NOT_FOUND',
    /no build profile "staging".*Available profiles: base, production, preview, development\./);
  rejects(() => resolveBuildProfile({ build: {} }, 'production', 'ios'), 'PROFILE_NOT_FOUND', /defines no build profiles/);
  assert.deepEqual(listBuildProfiles(EAS_JSON), ['base', 'production', 'preview', 'development']);
});

void test('extends cycles, a missing parent and chains deeper than five are PROFILE_INVALID', () => {
  rejects(() => resolveBuildProfile({ build: { a: { extends: 'b' }, b: { extends: 'c' }, c: { extends: 'a' } } }, 'a', 'android'),
    'PROFILE_INVALID', /"extends" cycle: a → b → c → a/);
  rejects(() => resolveBuildProfile({ build: { a: { extends: 'a' } } }, 'a', 'android'), 'PROFILE_INVALID', /cycle: a → a/);
  rejects(() => resolveBuildProfile({ build: { child: { extends: 'gone' }, other: {} } }, 'child', 'ios'),
    'PROFILE_INVALID', /"child" extends "gone", which does not exist\. Available profiles: child, other\./);
  const chain = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, i < n - 1 ? { extends: `p${i + 1}` } : { node: '20.0.0' }]));
  assert.equal(resolveBuildProfile({ build: chain(5) }, 'p0', 'android').profile.node, '20.0.0');
  rejects(() => resolveBuildProfile({ build: chain(6) }, 'p0', 'android'), 'PROFILE_INVALID', /extends too deeply .* at most 5/);
});

void test('deprecated fields are mapped with a warning; unknown and unsupported fields are reported, never silently dropped', () => {
  const { profile, warnings } = resolveBuildProfile({
    build: {
      legacy: {
        releaseChannel: 'beta',
        environment: 'production',
        uploadSourceMaps: true,
        colour: 'blue',
        gradleCommand: ':app:assembleDebug',
        android: { artifactPath: 'android/app/build/outputs/**/*.apk', buildTyp: 'apk', simulator: true },
        cache: { key: 'v1', customPaths: ['.cache'], cacheDefaultPaths: true },
      },
    },
  }, 'legacy', 'android');
  assertValid(profile);
  assert.equal(profile.channel, 'beta');
  assert.equal(profile.environment, 'production', 'the EAS environment is carried (it chooses the scoped secrets)');
  assert.equal(profile.applicationArchivePath, 'android/app/build/outputs/**/*.apk');
  assert.deepEqual(profile.cache, { key: 'v1', paths: ['.cache'] });
  assert.equal(profile.gradleCommand, undefined, 'a platform field at the common level is not applied');
  assert.deepEqual(warnings, [
    '"releaseChannel" is deprecated; use "channel" instead (its value is used as "channel").',
    '"uploadSourceMaps" is not supported by BuildMesh and is ignored: source maps are not uploaded separately.',
    'Unknown field "colour" is ignored.',
    '"gradleCommand" belongs in the android section and is ignored here.',
    '"cache.customPaths" is deprecated; used as "cache.paths".',
    '"cache.cacheDefaultPaths" is not supported by BuildMesh and is ignored.',
    '"artifactPath" in the android section is deprecated; use "applicationArchivePath" instead (its value is used as "applicationArchivePath").',
    'Unknown field "buildTyp" in the android section is ignored.',
    '"simulator" in the android section belongs in the ios section and is ignored here.',
  ]);
});

void test('fields of the wrong type are PROFILE_INVALID, naming each problem', () => {
  rejects(() => resolveBuildProfile({
    build: { bad: { distribution: 'everyone', developmentClient: 'yes', env: { PORT: 8080 }, android: { buildType: 'ipa' } } },
  }, 'bad', 'android'), 'PROFILE_INVALID',
  /"distribution" must be one of "store", "internal" \(got "everyone"\); "developmentClient" must be true or false; env\.PORT must be a string \(got 8080\); "buildType" in the android section must be one of "apk", "app-bundle" \(got "ipa"\)/);
  rejects(() => resolveBuildProfile({ build: { bad: { env: { 'NOT-A-NAME': 'x' } } } }, 'bad', 'web'), 'PROFILE_INVALID', /env name "NOT-A-NAME" is not a valid variable name/);
  rejects(() => resolveBuildProfile({ build: { bad: { channel: 'x'.repeat(200) } } }, 'bad', 'web'), 'PROFILE_INVALID', /\/channel/);
  rejects(() => resolveBuildProfile({ build: { bad: { environment: 'prod uction' } } }, 'bad', 'web'), 'PROFILE_INVALID', /\/environment/);
  rejects(() => resolveBuildProfile({ build: { bad: 'production' } }, 'bad', 'web'), 'PROFILE_INVALID', /must be an object/);
  rejects(() => resolveBuildProfile({ build: { bad: { ios: [] } } }, 'bad', 'ios'), 'PROFILE_INVALID', /"ios" in build profile "bad" must be an object/);
});

void test('eas.json that is missing, not JSON, or without a build section is a typed error; comments are accepted', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'buildmesh-easjson-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await assert.rejects(readEasJson(dir), (err: unknown) => err instanceof EasJsonError && err.code === 'EAS_JSON_MISSING');
  writeFileSync(join(dir, 'eas.json'), '{ "build": { "production": { ');
  await assert.rejects(readEasJson(dir), (err: unknown) => err instanceof EasJsonError && err.code === 'EAS_JSON_INVALID' && /not valid JSON/.test(err.message));
  writeFileSync(join(dir, 'eas.json'), [
    '// eas build:configure wrote this',
    '{',
    '  /* profiles */ "build": {',
    '    "production": { "env": { "URL": "https://x.example/a//b" }, }, // trailing comma',
    '  },',
    '}',
  ].join('\n'));
  const parsed = await readEasJson(dir);
  assert.deepEqual(resolveBuildProfile(parsed, 'production', 'web').profile, { name: 'production', env: { URL: 'https://x.example/a//b' } });
  rejects(() => resolveBuildProfile(parseEasJson('[]'), 'production', 'web'), 'EAS_JSON_INVALID', /must hold a JSON object/);
  rejects(() => resolveBuildProfile({ cli: {} }, 'production', 'web'), 'EAS_JSON_INVALID', /no "build" section/);
});

void test('image becomes a required worker label: xcode=<version> for iOS Xcode images, image=<name> otherwise', () => {
  assert.deepEqual(labelsForProfile({}, 'ios'), {});
  assert.deepEqual(labelsForProfile({ image: 'latest' }, 'android'), {});
  assert.deepEqual(labelsForProfile({ image: 'auto' }, 'ios'), {});
  assert.deepEqual(labelsForProfile({ image: 'macos-sequoia-15.6-xcode-26.0' }, 'ios'), { xcode: '26.0' });
  assert.deepEqual(labelsForProfile({ image: 'macos-sonoma-14.6-xcode-16.1' }, 'ios'), { xcode: '16.1' });
  assert.deepEqual(labelsForProfile({ image: 'sdk-57' }, 'ios'), { image: 'sdk-57' });
  assert.deepEqual(labelsForProfile({ image: 'ubuntu-24.04-jdk-17-ndk-r27b' }, 'android'), { image: 'ubuntu-24.04-jdk-17-ndk-r27b' });
});

void test('the web section (BuildMesh’s own) merges over the common fields like android and ios, extends-aware; unknown fields warned', () => {
  const easJson = {
    build: {
      base: { env: { A: '1' }, web: { outputDir: 'public', env: { W: 'base' } } },
      site: {
        extends: 'base',
        node: '20.0.0',
        web: { config: 'web.yml', applicationArchivePath: 'site/out.tar.gz', buildArtifactPaths: ['reports/*.txt'], env: { W: 'site' }, gradleCommand: 'x', bogus: 1 },
      },
    },
  };
  const { profile, warnings } = resolveBuildProfile(easJson, 'site', 'web');
  assert.deepEqual(profile, {
    name: 'site',
    env: { A: '1', W: 'site' },
    node: '20.0.0',
    outputDir: 'public',
    config: 'web.yml',
    applicationArchivePath: 'site/out.tar.gz',
    buildArtifactPaths: ['reports/*.txt'],
  });
  assert.ok(warnings.some((w) => /"gradleCommand" in the web section belongs in the android section/.test(w)), warnings.join('\n'));
  assert.ok(warnings.some((w) => /Unknown field "bogus" in the web section/.test(w)), warnings.join('\n'));
  // The web section does not leak into other platforms, and outputDir outside it is named.
  assert.equal(resolveBuildProfile(easJson, 'site', 'android').profile.config, undefined);
  assert.ok(resolveBuildProfile({ build: { p: { outputDir: 'x' } } }, 'p', 'web').warnings.some((w) => /"outputDir" belongs in the web section/.test(w)));
});
