/**
 * Test-only material for the iOS pipeline on any OS: a signing identity made with the real
 * openssl, provisioning profiles as the plist `security cms -D` prints, a bare project with an
 * Xcode project in Xcode's own pbxproj layout, and stand-ins for the macOS-only tools
 * (security, pod, xcodebuild, fastlane) that record each call and produce what the real tool
 * would leave behind. openssl itself runs for real.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildPlist } from '../../src/pipelines/plist.js';

export const TEAM_ID = 'TEAM123456';

export interface SigningIdentity {
  p12: Buffer;
  password: string;
  certificateDer: Buffer;
  sha1: string;
}

/** A key and self-signed "Apple Distribution" certificate, packed into a password-protected p12. */
export function makeSigningIdentity(dir: string, name: string, password: string): SigningIdentity {
  mkdirSync(dir, { recursive: true });
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  const p12 = join(dir, `${name}.p12`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key,
    '-out', cert, '-days', '2', '-subj', `/CN=Apple Distribution: BuildMesh Test ${name} (${TEAM_ID})/OU=${TEAM_ID}/O=BuildMesh Test`], { stdio: 'pipe' });
  execFileSync('openssl', ['pkcs12', '-export', '-inkey', key, '-in', cert, '-out', p12, '-passout', 'env:P12_PASSWORD'],
    { stdio: 'pipe', env: { ...process.env, P12_PASSWORD: password } });
  const x509 = new X509Certificate(readFileSync(cert));
  return { p12: readFileSync(p12), password, certificateDer: x509.raw, sha1: x509.fingerprint.replace(/:/g, '') };
}

export interface ProfileSpec {
  uuid: string;
  name: string;
  bundleId: string;
  certificates: Buffer[];
  type: 'app-store' | 'ad-hoc' | 'enterprise' | 'development';
}

/** A provisioning profile's content as `security cms -D` decodes it (the stand-in `security` copies it through). */
export function makeProvisioningProfile(spec: ProfileSpec): Buffer {
  return Buffer.from(buildPlist({
    AppIDName: spec.bundleId,
    ApplicationIdentifierPrefix: [TEAM_ID],
    DeveloperCertificates: spec.certificates,
    Entitlements: {
      'application-identifier': `${TEAM_ID}.${spec.bundleId}`,
      'com.apple.developer.team-identifier': TEAM_ID,
      // Development profiles let a debugger attach; distribution ones do not.
      'get-task-allow': spec.type === 'development',
    },
    Name: spec.name,
    ...(spec.type === 'ad-hoc' || spec.type === 'development' ? { ProvisionedDevices: ['00008030-001A2B3C4D5E6F70'] } : {}),
    ...(spec.type === 'enterprise' ? { ProvisionsAllDevices: true } : {}),
    TeamIdentifier: [TEAM_ID],
    UUID: spec.uuid,
    Version: 1,
  }));
}

const buildConfig = (id: string, name: string, bundleId: string) => `\t\t${id} /* ${name} */ = {
\t\t\tisa = XCBuildConfiguration;
\t\t\tbuildSettings = {
\t\t\t\tCODE_SIGN_STYLE = Automatic;
\t\t\t\tLD_RUNPATH_SEARCH_PATHS = (
\t\t\t\t\t"$(inherited)",
\t\t\t\t\t"@executable_path/Frameworks",
\t\t\t\t);
\t\t\t\tPRODUCT_BUNDLE_IDENTIFIER = ${bundleId};
\t\t\t};
\t\t\tname = ${name};
\t\t};
`;

const target = (id: string, listId: string, name: string, productType: string) => `\t\t${id} /* ${name} */ = {
\t\t\tisa = PBXNativeTarget;
\t\t\tbuildConfigurationList = ${listId} /* Build configuration list for PBXNativeTarget "${name}" */;
\t\t\tbuildPhases = (
\t\t\t);
\t\t\tname = ${name};
\t\t\tproductName = ${name};
\t\t\tproductType = "${productType}";
\t\t};
`;

const configList = (id: string, name: string, debugId: string, releaseId: string) => `\t\t${id} /* Build configuration list for PBXNativeTarget "${name}" */ = {
\t\t\tisa = XCConfigurationList;
\t\t\tbuildConfigurations = (
\t\t\t\t${debugId} /* Debug */,
\t\t\t\t${releaseId} /* Release */,
\t\t\t);
\t\t\tdefaultConfigurationIsVisible = 0;
\t\t\tdefaultConfigurationName = Release;
\t\t};
`;

/** An Xcode project with an app target and a share extension, in the layout Xcode writes. */
export const PBXPROJ = `// !$*UTF8*$!
{
\tarchiveVersion = 1;
\tclasses = {
\t};
\tobjectVersion = 54;
\tobjects = {

/* Begin PBXNativeTarget section */
${target('13B07F861A680F5B00A75B9A', '13B07F931A680F5B00A75B9A', 'App', 'com.apple.product-type.application')}${target('A1B2C3D4E5F6A7B8C9D0E1F2', 'A1B2C3D4E5F6A7B8C9D0E1F3', 'ShareExtension', 'com.apple.product-type.app-extension')}/* End PBXNativeTarget section */

/* Begin XCBuildConfiguration section */
${buildConfig('13B07F941A680F5B00A75B9A', 'Debug', 'dev.buildmesh.app')}${buildConfig('13B07F951A680F5B00A75B9A', 'Release', 'dev.buildmesh.app')}${buildConfig('A1B2C3D4E5F6A7B8C9D0E1F4', 'Debug', 'dev.buildmesh.app.share')}${buildConfig('A1B2C3D4E5F6A7B8C9D0E1F5', 'Release', 'dev.buildmesh.app.share')}/* End XCBuildConfiguration section */

/* Begin XCConfigurationList section */
${configList('13B07F931A680F5B00A75B9A', 'App', '13B07F941A680F5B00A75B9A', '13B07F951A680F5B00A75B9A')}${configList('A1B2C3D4E5F6A7B8C9D0E1F3', 'ShareExtension', 'A1B2C3D4E5F6A7B8C9D0E1F4', 'A1B2C3D4E5F6A7B8C9D0E1F5')}/* End XCConfigurationList section */
\t};
\trootObject = 83CBB9F71A601CBA00E9B192 /* Project object */;
}
`;

/** package.json + an empty package-lock.json (npm ci installs nothing, offline), and optionally a committed ios/. */
export function writeIosProject(projectDir: string, options: { withIosDir: boolean }): void {
  mkdirSync(projectDir, { recursive: true });
  writeFileSync(join(projectDir, 'package.json'), JSON.stringify({ name: 'ios-fixture', version: '1.0.0', private: true }, null, 2));
  writeFileSync(join(projectDir, 'package-lock.json'), JSON.stringify({
    name: 'ios-fixture', version: '1.0.0', lockfileVersion: 3, requires: true,
    packages: { '': { name: 'ios-fixture', version: '1.0.0' } },
  }, null, 2));
  if (!options.withIosDir) return;
  const xcodeproj = join(projectDir, 'ios', 'App.xcodeproj');
  mkdirSync(join(xcodeproj, 'xcshareddata', 'xcschemes'), { recursive: true });
  writeFileSync(join(xcodeproj, 'project.pbxproj'), PBXPROJ);
  writeFileSync(join(xcodeproj, 'xcshareddata', 'xcschemes', 'App.xcscheme'), '<?xml version="1.0" encoding="UTF-8"?>\n<Scheme/>\n');
  mkdirSync(join(projectDir, 'ios', 'App.xcworkspace'), { recursive: true });
  writeFileSync(join(projectDir, 'ios', 'App.xcworkspace', 'contents.xcworkspacedata'), '<Workspace version = "1.0"/>\n');
}

const RECORD = `printf '%s\\037' "$(basename "$0")" "$@" >> "$STUB_LOG"; printf '\\n' >> "$STUB_LOG"`;

const STUBS: Record<string, string> = {
  // security: records the call; `cms -D -i in -o out` copies the (already decoded) profile;
  // `import` checks that the p12 really opens with the password it was given; `list-keychains`
  // without -s prints a search list.
  security: `${RECORD}
case "$1" in
  cms) cp "$4" "$6" ;;
  import) /usr/bin/openssl pkcs12 -in "$2" -passin "pass:$8" -noout || { echo "SecKeychainItemImport: MAC verification failed during PKCS12 import" >&2; exit 1; } ;;
  list-keychains) [ "$#" -eq 3 ] && echo '    "/Users/ci/Library/Keychains/login.keychain-db"' ;;
esac
exit 0`,
  pod: `${RECORD}\nmkdir -p Pods`,
  xcodebuild: `${RECORD}
for a in "$@"; do
  case "$a" in
    -exportArchive) mkdir -p build && echo ipa > build/App.ipa ;;
    iphonesimulator) mkdir -p build/Build/Products/Release-iphonesimulator/App.app && echo app > build/Build/Products/Release-iphonesimulator/App.app/App ;;
    appletvsimulator) mkdir -p build/Build/Products/Release-appletvsimulator/App.app && echo tv > build/Build/Products/Release-appletvsimulator/App.app/App ;;
  esac
done`,
  fastlane: `${RECORD}\n[ -f Gymfile ] || { echo "no Gymfile" >&2; exit 1; }\nmkdir -p build && echo ipa > build/App.ipa`,
};

/** Writes the stand-in tools into `dir`; put it first on PATH and set STUB_LOG. */
export function writeMacToolStubs(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, body] of Object.entries(STUBS)) {
    writeFileSync(join(dir, name), `#!/usr/bin/env bash\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  }
}

/** The recorded calls, each as argv (tool name first). */
export function readStubLog(file: string): string[][] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter(Boolean).map((line) => line.split('\x1f').slice(0, -1));
}
