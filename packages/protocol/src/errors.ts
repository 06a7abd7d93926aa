/**
 * The one error catalogue. Every 4xx/5xx the controller sends is
 * `{ error: { code, message } }` with a code from `ApiErrors`; clients switch on
 * the code, never on the message. Build failures (why a build ended badly) have
 * their own catalogue, `BuildErrors`, shown by the API with a one-line explanation.
 */

export const ApiErrors = {
  BAD_REQUEST: { status: 400, message: 'The request is not valid.' },
  VALIDATION_FAILED: { status: 400, message: 'A field of the request is missing or has the wrong form.' },
  MALFORMED_JSON: { status: 400, message: 'The body is not valid JSON.' },
  BODY_INCOMPLETE: { status: 400, message: 'The body ended before it was complete.' },
  INVALID_CURSOR: { status: 400, message: 'The cursor is not one this server issued.' },
  UNAUTHENTICATED: { status: 401, message: 'A valid token is required (Authorization: Bearer <token>).' },
  OIDC_TOKEN_REFUSED: {
    status: 401,
    message: 'The OIDC ID token was refused: no trust rule of this org accepts it, or it could not be verified.',
  },
  FORBIDDEN: { status: 403, message: "The token's role does not allow this." },
  SANDBOX_REQUIRED: {
    status: 403,
    message: 'A worker without a sandbox (executor none) serves only its own org: enroll it with an org enrollment token, or run it with bubblewrap.',
  },
  WEBHOOK_TARGET_REFUSED: {
    status: 400,
    message: 'The webhook URL resolves to a loopback, private, link-local or other special-purpose address, or to one of the controller host\'s own; the operator may allow them with BUILDMESH_WEBHOOK_ALLOW_PRIVATE=1.',
  },
  NOT_FOUND: { status: 404, message: 'No such resource.' },
  BODY_TIMEOUT: { status: 408, message: 'The body stalled and was cut off.' },
  TOO_MANY_STREAMS: { status: 429, message: 'The org holds as many live streams open as this controller allows (BUILDMESH_ORG_MAX_STREAMS); close one or read without following.' },
  ORG_QUEUE_FULL: { status: 429, message: 'The org has reached its limit of queued builds; wait for some to start (the operator sets it with BUILDMESH_ORG_MAX_QUEUED).' },
  RATE_LIMITED: { status: 429, message: 'Too many requests of this kind from this address; retry in a few seconds.' },
  CONFLICT: { status: 409, message: 'The resource is not in a state that allows this.' },
  LIMIT_REACHED: { status: 409, message: 'This would go past a fixed limit of the controller; the message names it (docs/api.md, "Limits").' },
  NAME_TAKEN: { status: 409, message: 'That name is already in use.' },
  BUILD_NOT_CANCELABLE: { status: 409, message: 'The build has already ended.' },
  BUILD_NOT_RETRYABLE: { status: 409, message: 'Only a build that has ended can be retried.' },
  SOURCE_NOT_UPLOADED: { status: 409, message: 'The source blob is not among this org\'s uploads (or has expired): upload it with PUT /v1/blobs/:sha256 first.' },
  LEASE_LOST: { status: 409, message: 'This attempt no longer holds its lease; its results are refused.' },
  LOG_SEQ_GAP: { status: 409, message: 'A log batch arrived before the one preceding it.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The body is larger than this route accepts.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The content type is not one this route accepts.' },
  RANGE_NOT_SATISFIABLE: { status: 416, message: 'The requested range is outside the file.' },
  CHECKSUM_MISMATCH: { status: 422, message: 'The body does not match the declared sha256.' },
  SIZE_MISMATCH: { status: 422, message: 'The body does not match the declared size.' },
  INTERNAL: { status: 500, message: 'The server failed; the request may be retried.' },
  SHUTTING_DOWN: { status: 503, message: 'The server is shutting down; retry shortly.' },
  DATABASE_UNAVAILABLE: { status: 503, message: 'The database cannot be reached right now (restarting or failing over); retry shortly.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ApiErrorCode = keyof typeof ApiErrors;

export interface ApiErrorBody {
  error: { code: ApiErrorCode; message: string };
}

/** Thrown by the controller to answer with a catalogue error, and by the client when the server answers one. */
export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ApiErrorCode,
    message?: string,
  ) {
    super(message ?? ApiErrors[code].message);
    this.name = 'ApiError';
    this.status = ApiErrors[code].status;
  }
  toBody(): ApiErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

export function isApiErrorCode(code: unknown): code is ApiErrorCode {
  return typeof code === 'string' && Object.hasOwn(ApiErrors, code);
}

/**
 * Why a build ended badly. Worker-side classifiers map known failure patterns of
 * each phase to these codes; the controller adds the infrastructure ones.
 */
export const BuildErrors = {
  UNKNOWN_ERROR: 'The build failed; see the log of the failed phase.',
  STEP_FAILED: 'A build step exited with a non-zero status; see the log of that phase.',
  LEASE_EXPIRED: 'The worker stopped reporting and no attempts were left to retry on another worker.',
  BUILD_TIMED_OUT: 'The build ran longer than its timeout.',
  PHASE_TIMED_OUT: 'A build phase ran longer than its timeout.',
  BUILD_CANCELED: 'The build was canceled.',
  SOURCE_UNPACK_FAILED: 'The source archive was refused (unsafe paths or links, special files, or too large).',
  CUSTOM_CONFIG_INVALID: 'The custom build config (.eas/build/<name>.yml) is missing or invalid.',
  CUSTOM_FUNCTION_UNSUPPORTED: 'The custom build config calls a function BuildMesh does not run (the message names it; the README lists the supported ones).',
  EAS_JSON_INVALID: 'eas.json is missing or invalid, or the build profile does not exist.',
  LOCKFILE_MISSING: 'No lockfile was found; commit package-lock.json, yarn.lock, pnpm-lock.yaml or bun.lockb.',
  LOCKFILE_OUT_OF_SYNC: 'The lockfile does not match package.json; run the install locally and commit the lockfile.',
  INSTALL_FAILED: 'Installing dependencies failed; see the INSTALL_DEPENDENCIES log.',
  PREBUILD_FAILED: '`expo prebuild` failed; check app.json/app.config and config plugins.',
  GRADLE_OUT_OF_MEMORY: 'Gradle ran out of memory; raise org.gradle.jvmargs -Xmx in android/gradle.properties.',
  GRADLE_BUILD_FAILED: 'The Gradle build failed; see the RUN_GRADLEW log for the failing task.',
  SIGNING_MISMATCH: 'The signing credentials do not match (certificate not in the provisioning profile, or wrong keystore alias or password).',
  CREDENTIALS_MISSING: 'The build needs signing credentials and none were provided.',
  TOOLCHAIN_MISSING: 'A tool the build needs is not installed on the worker.',
  TOOLCHAIN_VERSION_UNAVAILABLE:
    'The profile asks for a Node.js, yarn, pnpm or bun version the worker cannot provide (no such version, or none for this OS and CPU, or the registry is unreachable).',
  PODS_INSTALL_FAILED: '`pod install` failed; see the INSTALL_PODS log.',
  XCODE_BUILD_FAILED: 'The Xcode archive or export failed; see the RUN_FASTLANE log.',
  WEB_EXPORT_FAILED: '`expo export --platform web` failed; see the log.',
  WEB_EXPO_MISSING: 'A web build needs `expo` in the project\'s dependencies (npx expo install expo), or a custom `web.config`.',
  ARTIFACT_NOT_FOUND: 'The build finished but produced no file matching the artifact paths.',
  ARTIFACT_UPLOAD_FAILED: 'An artifact could not be uploaded to the controller.',
} as const satisfies Record<string, string>;

export type BuildErrorCode = keyof typeof BuildErrors;

export function isBuildErrorCode(code: unknown): code is BuildErrorCode {
  return typeof code === 'string' && Object.hasOwn(BuildErrors, code);
}
