/**
 * Signing credentials, as EAS delivers them to its builders. They travel only
 * (a) from the CLI to the controller, which encrypts them at rest, and (b) from
 * the controller to the worker holding the build's live lease. Never logged.
 */
import { Type, type Static } from 'typebox';
import { EnvVars } from './common.js';
import { EnvValue } from './env-names.js';
import { EnvironmentName } from './profiles.js';

const Base64 = (maxBytes: number) =>
  Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$', maxLength: Math.ceil((maxBytes * 4) / 3) + 4 });
const Secret = Type.String({ minLength: 1, maxLength: 1024 });

export const AndroidCredentials = Type.Object(
  {
    keystore: Type.Object(
      {
        keystoreBase64: Base64(1024 * 1024),
        keystorePassword: Secret,
        keyAlias: Type.String({ minLength: 1, maxLength: 256 }),
        keyPassword: Type.Optional(Secret),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type AndroidCredentials = Static<typeof AndroidCredentials>;

export const IosTargetCredentials = Type.Object(
  {
    p12Base64: Base64(1024 * 1024),
    p12Password: Type.String({ maxLength: 1024 }),
    provisioningProfileBase64: Base64(1024 * 1024),
  },
  { additionalProperties: false },
);
export type IosTargetCredentials = Static<typeof IosTargetCredentials>;

/** Per target (the app and each extension), as EAS's Ios.BuildCredentials. */
export const IosCredentials = Type.Object(
  { targets: Type.Record(Type.String({ minLength: 1, maxLength: 256 }), IosTargetCredentials) },
  { additionalProperties: false },
);
export type IosCredentials = Static<typeof IosCredentials>;

export const CredentialsBundle = Type.Object(
  { android: Type.Optional(AndroidCredentials), ios: Type.Optional(IosCredentials) },
  { additionalProperties: false },
);
export type CredentialsBundle = Static<typeof CredentialsBundle>;

/** The largest file a file secret holds (google-services.json, GoogleService-Info.plist, a key file). */
export const MAX_FILE_SECRET_BYTES = 256 * 1024;

/**
 * What the worker reads through its attempt: the build's credentials and the project's secrets
 * (decrypted). String secrets become variables; file secrets (`files`, name → content in base64)
 * are written to files in the attempt's workspace and their variables hold the paths, as on EAS.
 * Workers that predate file secrets ignore `files`.
 */
export const AttemptSecrets = Type.Object({
  credentials: Type.Union([CredentialsBundle, Type.Null()]),
  secrets: EnvVars,
  files: Type.Optional(Type.Record(Type.String({ maxLength: 128 }), Base64(MAX_FILE_SECRET_BYTES), { maxProperties: 512 })),
});
export type AttemptSecrets = Static<typeof AttemptSecrets>;

/** Which credentials a project has on file (never the values). */
export const CredentialsSummary = Type.Object({
  android: Type.Union([Type.Object({ keyAlias: Type.String() }), Type.Null()]),
  ios: Type.Union([Type.Object({ targets: Type.Array(Type.String()) }), Type.Null()]),
  updatedAt: Type.Union([Type.String(), Type.Null()]),
});
export type CredentialsSummary = Static<typeof CredentialsSummary>;

/** `string` (the default): the variable holds the value. `file`: the variable holds the path of a file with the content. */
export const SecretType = Type.Union([Type.Literal('string'), Type.Literal('file')]);
export type SecretType = Static<typeof SecretType>;

/** PUT body: a string secret's value, or a file secret's content in base64 (`type: "file"`). */
export const SecretValue = Type.Union([
  Type.Object({ value: EnvValue(65536, 1), type: Type.Optional(Type.Literal('string')) }, { additionalProperties: false }),
  Type.Object({ value: Base64(MAX_FILE_SECRET_BYTES), type: Type.Literal('file') }, { additionalProperties: false }),
]);
export type SecretValue = Static<typeof SecretValue>;
/** `environment`: the EAS environment the secret is scoped to; absent = every build of the project. */
export const SecretInfo = Type.Object({ name: Type.String(), updatedAt: Type.String(), type: Type.Optional(SecretType), environment: Type.Optional(Type.String()) });
/** `?environment=NAME` on PUT and DELETE of a secret: its scope (absent = unscoped). */
export const SecretScope = Type.Object({ environment: Type.Optional(EnvironmentName) }, { additionalProperties: false });
export type SecretScope = Static<typeof SecretScope>;
export type SecretInfo = Static<typeof SecretInfo>;
