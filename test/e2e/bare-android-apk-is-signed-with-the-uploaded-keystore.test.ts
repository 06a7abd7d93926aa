/**
 * A really signed APK: a real keystore (keytool) is uploaded as the project's credentials; the
 * worker injects it as EAS does, the bare-android fixture's own gradlew packages a minimal APK and
 * signs it with that injected configuration (Debian's apksigner), and the downloaded artifact
 * verifies (`apksigner verify --print-certs`) with the keystore's own certificate.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CredentialsBundle } from '@buildmesh/protocol';
import { readEasJson, resolveBuildProfile } from '../../packages/cli/src/eas-json.js';
import { startTestController } from '../helpers/controller.js';
import { startTestWorker, waitForWorkerOnline } from '../helpers/worker.js';
import { outputLines, readAllLogs, waitForStatus } from '../helpers/builds.js';
import { packLikeTheCli } from '../helpers/expo-fixture.js';
import { REPO_ROOT } from '../helpers/processes.js';
import { skipUnless } from '../helpers/system-services.js';
import { bytesOf } from '../helpers/bytes.js';

const FIXTURE = join(REPO_ROOT, 'packages/worker/test/fixtures/bare-android');

function has(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const skip = skipUnless(has('apksigner') && has('keytool') && has('jar'), 'apksigner, keytool or jar missing (apt-get install apksigner default-jdk-headless)');

test('the apk is signed with the uploaded keystore and verifies with its certificate', { skip, timeout: 5 * 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'buildmesh-apk-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const keystore = join(dir, 'upload.p12');
  execFileSync('keytool', [
    '-genkeypair', '-keystore', keystore, '-storetype', 'PKCS12', '-storepass', 'store-pass-7f3a9c', '-keypass', 'store-pass-7f3a9c',
    '-alias', 'upload', '-keyalg', 'RSA', '-keysize', '2048', '-validity', '10000', '-dname', 'CN=BuildMesh Signed APK Test',
  ], { stdio: 'ignore' });
  const certSha256 = /SHA256:\s*([0-9A-F:]+)/
    .exec(execFileSync('keytool', ['-list', '-v', '-keystore', keystore, '-storepass', 'store-pass-7f3a9c', '-alias', 'upload'], { encoding: 'utf8' }))![1]!
    .replaceAll(':', '')
    .toLowerCase();

  const sdk = mkdtempSync(join(tmpdir(), 'buildmesh-fake-sdk-'));
  t.after(() => rmSync(sdk, { recursive: true, force: true }));
  for (const d of ['platform-tools', 'build-tools/35.0.0', 'platforms/android-35']) mkdirSync(join(sdk, d), { recursive: true });
  const controller = await startTestController(t, { timing: { leaseTtlMs: 20_000, heartbeatIntervalMs: 1000 } });
  const worker = startTestWorker(t, { url: controller.url, enrollmentToken: await controller.enrollmentToken(), env: { ANDROID_HOME: sdk } });
  await waitForWorkerOnline(controller.admin, worker);

  // PKCS12 keeps one password for the store and the key, as keytool made it.
  const credentials: CredentialsBundle = {
    android: { keystore: { keystoreBase64: readFileSync(keystore).toString('base64'), keystorePassword: 'store-pass-7f3a9c', keyAlias: 'upload', keyPassword: 'store-pass-7f3a9c' } },
  };
  const env = { SIGN_WITH_APKSIGNER: '1', EXPECTED_KEYSTORE_PASSWORD: 'store-pass-7f3a9c', EXPECTED_KEY_ALIAS: 'upload', EXPECTED_KEY_PASSWORD: 'store-pass-7f3a9c' };
  const profile = resolveBuildProfile(await readEasJson(FIXTURE), 'preview', 'android').profile;
  const build = await controller.admin.createBuild({ project: 'signed-apk', platform: 'android', profile, env }, await packLikeTheCli(FIXTURE), { credentials });
  const done = await waitForStatus(controller.admin, build.id, ['succeeded', 'failed', 'timed_out', 'canceled'], 4 * 60_000);
  const log = await readAllLogs(controller.admin, build.id);
  assert.equal(done.status, 'succeeded', `${JSON.stringify(done.error)}\n${outputLines(log).slice(-30).join('\n')}`);
  assert.ok(!log.some((e) => e.text.includes('store-pass-7f3a9c')), 'the password is masked');

  const { artifacts } = await controller.admin.listArtifacts(build.id);
  const apk = artifacts.find((a) => a.kind === 'application-archive');
  assert.equal(apk?.name, 'app-release.apk');
  const file = join(dir, 'app-release.apk');
  writeFileSync(file, await bytesOf(await controller.admin.downloadArtifact(build.id, apk.id)));
  const verified = execFileSync('apksigner', ['verify', '--print-certs', '--min-sdk-version', '24', file], { encoding: 'utf8' });
  assert.match(verified, /Signer #1 certificate DN: CN=BuildMesh Signed APK Test/);
  assert.match(verified, new RegExp(`Signer #1 certificate SHA-256 digest: ${certSha256}`), verified);
});
