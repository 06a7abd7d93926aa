/**
 * iOS signing the way EAS does it (build-tools' ios/credentials/{manager,keychain,provisioningProfile}.ts),
 * with one difference in how the certificate gets into the keychain, so that no user secret is
 * ever in argv:
 *
 *   - a throwaway keychain `buildmesh-<id>.keychain` in the workspace, with a random password,
 *     created, given a long lock timeout and unlocked (`security create-keychain`,
 *     `set-keychain-settings`, `unlock-keychain`). `security` takes passwords only in argv; the
 *     plan passes them in the environment and lets bash expand them, so the plan and the build log
 *     never show them (the process table does, for these throwaway values only);
 *   - each target's p12 is opened by `/usr/bin/openssl` with its password read from an environment
 *     variable (`-passin env:…`), and re-wrapped into a fresh p12 under a random one-time password,
 *     which is what `security import -P` gets. `security import` takes a passphrase only in argv
 *     (or from a GUI prompt), and fastlane's import_certificate passes it the same way, so the
 *     user's p12 password would show in `ps`; the one-time password guards only a file in the
 *     0700 workspace for the seconds before the keychain takes it, like the keychain password;
 *   - `security set-key-partition-list` lets codesign use the keys without a prompt; the keychain
 *     joins the user's search list (Xcode's export step finds identities only there);
 *   - each provisioning profile goes to ~/Library/MobileDevice/Provisioning Profiles/<id>.mobileprovision
 *     (a random name, so cleanup never removes a profile the user installed) and is decoded with
 *     `security cms -D`; the p12 certificate's SHA-1 must be among its DeveloperCertificates
 *     (SIGNING_MISMATCH otherwise);
 *   - CLEAN_UP_CREDENTIALS, an `always` phase, takes the keychain out of the search list, deletes
 *     it, and removes the installed profiles and the workspace copies.
 *
 * `/usr/bin/openssl` is LibreSSL on macOS, which reads the legacy p12 encryption Apple's Keychain
 * Access and most tools still write (a Homebrew OpenSSL 3 on PATH would need `-legacy`).
 */
import { randomBytes, X509Certificate } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CredentialsBundle, ResolvedProfile } from '@buildmesh/protocol';
import type { Phase, Step } from '../runner/plan.js';
import { IOS_CREDENTIALS_FAILURES } from './classify.js';
import type { PlanContext } from './context.js';
import { isObject, readCredentialsJson, readProjectFile, requireObject, requireString } from './local-credentials.js';
import { PipelineError } from './pipeline-error.js';
import { parsePlist, type PlistValue } from './plist.js';
import { mkdirInside, readFileInside, writeFileInside } from '../workspace/inside.js';

export interface IosSigningTarget {
  /** The Xcode target these credentials sign; null for credentials.json's single-target form (the app target). */
  name: string | null;
  p12: Buffer;
  p12Password: string;
  profile: Buffer;
}

/** What PREPARE_CREDENTIALS learned from each decoded profile; CONFIGURE_XCODE_PROJECT and the Gymfile use it. */
export interface SignedTarget {
  name: string | null;
  bundleIdentifier: string;
  teamId: string;
  profileUuid: string;
  profileName: string;
  /**
   * From the profile itself, as EAS reads it: enterprise (ProvisionsAllDevices), development
   * (devices and get-task-allow), ad-hoc (devices), else app-store.
   */
  profileType: 'ad-hoc' | 'app-store' | 'enterprise' | 'development';
  /** Upper-case hex SHA-1 of the certificate, as Xcode's signingCertificate takes it. */
  certificateSha1: string;
  certificateCommonName: string;
}

export interface IosSigningState {
  keychainPath: string;
  targets: SignedTarget[];
}

/** Per-target file locations, fixed when the plan is made. */
interface TargetFiles {
  target: IosSigningTarget;
  dir: string;
  p12Path: string;
  importP12Path: string;
  importPassword: string;
  certPemPath: string;
  installedProfilePath: string;
  decodedProfilePath: string;
}

export interface IosCredentialsPlan {
  prepare: Phase;
  cleanUp: Phase;
  state: IosSigningState;
}

export const PROVISIONING_PROFILES_DIR = join('Library', 'MobileDevice', 'Provisioning Profiles');
const OPENSSL = '/usr/bin/openssl';
const P12_PASSWORD_ENV = 'BUILDMESH_P12_PASSWORD';
const IMPORT_PASSWORD_ENV = 'BUILDMESH_P12_IMPORT_PASSWORD';
const KEYCHAIN_PASSWORD_ENV = 'BUILDMESH_KEYCHAIN_PASSWORD';
/** Six hours: longer than any build, so the keychain never locks mid-build. */
const KEYCHAIN_LOCK_TIMEOUT_S = 21600;

/**
 * The p12's key and certificate, re-wrapped under the one-time password. Each comes through its
 * own pipe (openssl reads its input twice, which a single pipe cannot serve), so no unencrypted
 * copy of the key is ever written to disk.
 */
export const REWRAP_P12_SCRIPT =
  `exec ${OPENSSL} pkcs12 -export -out "$2" -passout env:${IMPORT_PASSWORD_ENV}` +
  ` -inkey <(${OPENSSL} pkcs12 -in "$1" -passin env:${P12_PASSWORD_ENV} -nocerts -nodes)` +
  ` -in <(${OPENSSL} pkcs12 -in "$1" -passin env:${P12_PASSWORD_ENV} -nokeys -clcerts)`;

/** Prepends the keychain to the user's search list, keeping the rest. */
export const ADD_TO_SEARCH_LIST_SCRIPT = 'security list-keychains -d user | xargs security list-keychains -d user -s "$1"';

/**
 * Every action is attempted whatever happened before: the keychain leaves the search list (matched
 * by its unique file name, as macOS may print it under /private), is deleted, and the profiles go.
 */
export const CLEAN_UP_SCRIPT = [
  'keychain="$1"; shift',
  'security list-keychains -d user | grep -v -F "$(basename "$keychain")" | xargs security list-keychains -d user -s || true',
  'security delete-keychain "$keychain" 2>/dev/null || echo "The keychain was already gone."',
  'rm -f "$@"',
].join('\n');

/**
 * The signing credentials of an iOS device build: the build's uploaded credentials (per target),
 * else the project's credentials.json when `credentialsSource: local`. Null for simulator builds
 * and `withoutCredentials`; CREDENTIALS_MISSING when a device build has none.
 */
export async function resolveIosSigning(
  profile: ResolvedProfile,
  credentials: CredentialsBundle | null,
  projectDir: string,
): Promise<IosSigningTarget[] | null> {
  if (profile.simulator || profile.withoutCredentials) return null;
  const uploaded = credentials?.ios?.targets;
  if (uploaded && Object.keys(uploaded).length > 0) {
    return Object.keys(uploaded)
      .sort()
      .map((name) => {
        const t = uploaded[name]!;
        return {
          name,
          p12: Buffer.from(t.p12Base64, 'base64'),
          p12Password: t.p12Password,
          profile: Buffer.from(t.provisioningProfileBase64, 'base64'),
        };
      });
  }
  if (profile.credentialsSource === 'local') {
    const ios = requireObject(await readCredentialsJson(projectDir), 'ios', '');
    const readTarget = async (name: string | null, entry: Record<string, unknown>, where: string): Promise<IosSigningTarget> => {
      const cert = requireObject(entry, 'distributionCertificate', where);
      return {
        name,
        p12: await readProjectFile(projectDir, cert.path, 'distribution certificate'),
        p12Password: typeof cert.password === 'string' ? cert.password : requireString(cert, 'password', `${where}.distributionCertificate`),
        profile: await readProjectFile(projectDir, entry.provisioningProfilePath, 'provisioning profile'),
      };
    };
    if ('provisioningProfilePath' in ios || 'distributionCertificate' in ios) return [await readTarget(null, ios, 'ios')];
    const names = Object.keys(ios).filter((k) => isObject(ios[k])).sort();
    if (names.length === 0) throw new PipelineError('CREDENTIALS_MISSING', 'credentials.json has no iOS targets.');
    return Promise.all(names.map((n) => readTarget(n, ios[n] as Record<string, unknown>, `ios.${n}`)));
  }
  throw new PipelineError(
    'CREDENTIALS_MISSING',
    'An iOS device build needs a distribution certificate and a provisioning profile; upload them with the build, ' +
      'set credentialsSource "local" with a credentials.json, or build for the simulator.',
  );
}

function oneTimePassword(): string {
  return randomBytes(24).toString('base64url');
}

function decodedProfileField<T extends PlistValue>(plist: Record<string, PlistValue>, key: string, check: (v: PlistValue) => v is T): T {
  const value = plist[key];
  if (value === undefined || !check(value)) throw new PipelineError('SIGNING_MISMATCH', `The provisioning profile has no valid ${key}.`);
  return value;
}

const isString = (v: PlistValue): v is string => typeof v === 'string';
const isArray = (v: PlistValue): v is PlistValue[] => Array.isArray(v);
const isDict = (v: PlistValue): v is Record<string, PlistValue> => isObject(v) && !Buffer.isBuffer(v) && !(v instanceof Date);

/** Reads a decoded profile and checks the target's certificate against it. */
export function verifyProvisioningProfile(decodedXml: string, certificatePem: string, targetLabel: string): SignedTarget {
  const parsed = parsePlist(decodedXml);
  if (!isDict(parsed)) throw new PipelineError('SIGNING_MISMATCH', `The provisioning profile for ${targetLabel} is not a property list.`);
  const entitlements = decodedProfileField(parsed, 'Entitlements', isDict);
  const appId = entitlements['application-identifier'];
  if (typeof appId !== 'string') throw new PipelineError('SIGNING_MISMATCH', `The provisioning profile for ${targetLabel} has no application-identifier.`);
  const teams = decodedProfileField(parsed, 'TeamIdentifier', isArray);
  const certificates = decodedProfileField(parsed, 'DeveloperCertificates', isArray).filter((c): c is Buffer => Buffer.isBuffer(c));

  const certificate = new X509Certificate(certificatePem);
  const sha1 = certificate.fingerprint.replace(/:/g, '').toUpperCase();
  const profileSha1s = certificates.map((der) => new X509Certificate(der).fingerprint.replace(/:/g, '').toUpperCase());
  const name = decodedProfileField(parsed, 'Name', isString);
  if (!profileSha1s.includes(sha1)) {
    throw new PipelineError(
      'SIGNING_MISMATCH',
      `The distribution certificate for ${targetLabel} (SHA-1 ${sha1}) is not one of the certificates in provisioning profile ` +
        `"${name}" (${profileSha1s.join(', ') || 'none'}). Regenerate the profile with this certificate, or use the certificate it names.`,
    );
  }
  const commonName = /(?:^|\n)CN=([^\n]+)/.exec(certificate.subject)?.[1] ?? '';
  return {
    name: null,
    bundleIdentifier: appId.replace(/^[^.]+\./, ''),
    teamId: String(teams[0] ?? ''),
    profileUuid: decodedProfileField(parsed, 'UUID', isString),
    profileName: name,
    profileType:
      parsed.ProvisionsAllDevices === true
        ? 'enterprise'
        : parsed.ProvisionedDevices !== undefined
          ? entitlements['get-task-allow'] === true ? 'development' : 'ad-hoc'
          : 'app-store',
    certificateSha1: sha1,
    certificateCommonName: commonName,
  };
}

function command(argv: string[], env?: Record<string, string>): Step {
  return { kind: 'command', command: { argv, ...(env ? { env } : {}) } };
}

/**
 * A `security` call that needs a (throwaway) password in its argv: bash expands it from the
 * environment, so the plan and the build log show only the variable's name.
 */
function withPasswords(script: string, args: string[], env: Record<string, string>): Step {
  return command(['bash', '-c', `exec ${script}`, 'security', ...args], env);
}

/** PREPARE_CREDENTIALS and CLEAN_UP_CREDENTIALS for a device build with these targets. */
export function planIosCredentials(ctx: PlanContext, targets: IosSigningTarget[], homeDir: string): IosCredentialsPlan {
  const credentialsDir = join(ctx.workspaceRoot, 'credentials', 'ios');
  const keychainPath = join(credentialsDir, `buildmesh-${ctx.newId()}.keychain`);
  const keychainPassword = oneTimePassword();
  const profilesDir = join(homeDir, PROVISIONING_PROFILES_DIR);
  const files: TargetFiles[] = targets.map((target, i) => {
    const dir = join(credentialsDir, `target-${i}`);
    return {
      target,
      dir,
      p12Path: join(dir, 'certificate.p12'),
      importP12Path: join(dir, 'import.p12'),
      importPassword: oneTimePassword(),
      certPemPath: join(dir, 'certificate.pem'),
      installedProfilePath: join(profilesDir, `${ctx.newId()}.mobileprovision`),
      decodedProfilePath: join(dir, 'profile.plist'),
    };
  });
  ctx.redact.push(keychainPassword, ...files.flatMap((f) => [f.target.p12Password, f.importPassword]).filter((p) => p !== ''));
  const keychainEnv = { [KEYCHAIN_PASSWORD_ENV]: keychainPassword };
  const state: IosSigningState = { keychainPath, targets: [] };
  const label = (t: IosSigningTarget) => (t.name ? `target "${t.name}"` : 'the app target');

  const steps: Step[] = [
    {
      kind: 'task',
      describe: `write each target's certificate to ${credentialsDir} and install its provisioning profile in ${profilesDir}`,
      run: async ({ log }) => {
        // Never through a symlink (a build left in the workspace, or in the home folder on an unsandboxed worker).
        await mkdirInside(ctx.workspaceRoot, credentialsDir, { mode: 0o700, chmod: 0o700 });
        await mkdirInside(homeDir, profilesDir);
        for (const f of files) {
          await mkdirInside(ctx.workspaceRoot, f.dir, { mode: 0o700, chmod: 0o700 });
          await writeFileInside(ctx.workspaceRoot, f.p12Path, f.target.p12, { mode: 0o600 });
          await writeFileInside(profilesDir, f.installedProfilePath, f.target.profile, { mode: 0o600, exclusive: true });
          log(`Installed the provisioning profile for ${label(f.target)} as ${f.installedProfilePath}.`);
        }
      },
    },
    withPasswords(`security create-keychain -p "$${KEYCHAIN_PASSWORD_ENV}" "$1"`, [keychainPath], keychainEnv),
    command(['security', 'set-keychain-settings', '-lut', String(KEYCHAIN_LOCK_TIMEOUT_S), keychainPath]),
    withPasswords(`security unlock-keychain -p "$${KEYCHAIN_PASSWORD_ENV}" "$1"`, [keychainPath], keychainEnv),
  ];
  for (const f of files) {
    const p12Env = { [P12_PASSWORD_ENV]: f.target.p12Password };
    steps.push(
      command([OPENSSL, 'pkcs12', '-in', f.p12Path, '-passin', `env:${P12_PASSWORD_ENV}`, '-nokeys', '-clcerts', '-out', f.certPemPath], p12Env),
      command(['bash', '-c', REWRAP_P12_SCRIPT, 'rewrap-p12', f.p12Path, f.importP12Path], { ...p12Env, [IMPORT_PASSWORD_ENV]: f.importPassword }),
      withPasswords(
        `security import "$1" -k "$2" -f pkcs12 -P "$${IMPORT_PASSWORD_ENV}" -T /usr/bin/codesign -T /usr/bin/security`,
        [f.importP12Path, keychainPath],
        { [IMPORT_PASSWORD_ENV]: f.importPassword },
      ),
    );
  }
  steps.push(
    withPasswords(`security set-key-partition-list -S apple-tool:,apple:,codesign: -s -k "$${KEYCHAIN_PASSWORD_ENV}" "$1" >/dev/null`, [keychainPath], keychainEnv),
    command(['bash', '-c', ADD_TO_SEARCH_LIST_SCRIPT, 'add-keychain', keychainPath]),
    ...files.map((f) => command(['security', 'cms', '-D', '-i', f.installedProfilePath, '-o', f.decodedProfilePath])),
    {
      kind: 'task',
      describe: "check each target's certificate against its provisioning profile",
      run: async ({ log, env }) => {
        state.targets = [];
        for (const f of files) {
          // The one-time p12 has served its purpose once imported.
          await rm(f.importP12Path, { force: true });
          const signed = verifyProvisioningProfile(
            await readFileInside(ctx.workspaceRoot, f.decodedProfilePath),
            await readFileInside(ctx.workspaceRoot, f.certPemPath),
            label(f.target),
          );
          signed.name = f.target.name;
          state.targets.push(signed);
          log(`${label(f.target)}: profile "${signed.profileName}" (${signed.profileUuid}, ${signed.profileType}) for ` +
            `${signed.bundleIdentifier}, team ${signed.teamId}, certificate "${signed.certificateCommonName}" (${signed.certificateSha1}).`);
        }
        // EAS hands the team to prebuild (config plugins read APPLE_TEAM_ID).
        const teamId = state.targets[0]?.teamId;
        if (teamId) env.APPLE_TEAM_ID = teamId;
      },
    },
  );

  return {
    state,
    prepare: { name: 'PREPARE_CREDENTIALS', steps, classify: IOS_CREDENTIALS_FAILURES },
    cleanUp: {
      name: 'CLEAN_UP_CREDENTIALS',
      always: 'always',
      // Cleanup trouble is logged, but never changes how the build ended.
      optional: true,
      steps: [
        command(['bash', '-c', CLEAN_UP_SCRIPT, 'clean-up-credentials', keychainPath, ...files.map((f) => f.installedProfilePath)]),
        {
          kind: 'task',
          describe: `remove ${credentialsDir}`,
          run: async () => rm(credentialsDir, { recursive: true, force: true }),
        },
      ],
    },
  };
}
