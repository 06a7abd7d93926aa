import { Type, type Static } from 'typebox';
import { EnvVars, Id, Labels, Name, Page, Platform, Sha256, Timestamp } from './common.js';
import { ResolvedProfile } from './profiles.js';
import { NulFreeText } from './env-names.js';

/**
 * Where the Expo app is inside the uploaded source, relative to its root (a monorepo: the git
 * repository's root is uploaded and the app is e.g. `apps/mobile`). Strict: relative, normalized
 * (no `.`/`..`/empty segments, no trailing slash), no backslash or control character. Absent (or
 * omitted by older CLIs): the app is the source root.
 */
export const APP_DIR_PATTERN = '^(?!\\.{1,2}(?:/|$))(?!.*/\\.{1,2}(?:/|$))[^/\\\\\\u0000-\\u001f]+(?:/[^/\\\\\\u0000-\\u001f]+)*$';
export const AppDir = Type.String({ minLength: 1, maxLength: 1024, pattern: APP_DIR_PATTERN, description: 'relative path of the app inside the source, e.g. apps/mobile' });

/** The same rule as AppDir, for code that holds a string (the worker re-checks what a job says). */
export function isValidAppDir(value: string): boolean {
  return value.length >= 1 && value.length <= 1024 && new RegExp(APP_DIR_PATTERN, 'u').test(value);
}

export const BuildStatus = Type.Union([
  Type.Literal('queued'),
  Type.Literal('running'),
  Type.Literal('succeeded'),
  Type.Literal('failed'),
  Type.Literal('canceled'),
  Type.Literal('timed_out'),
]);
export type BuildStatus = Static<typeof BuildStatus>;
export const TERMINAL_BUILD_STATUSES: readonly BuildStatus[] = ['succeeded', 'failed', 'canceled', 'timed_out'];
export const isTerminal = (s: BuildStatus) => TERMINAL_BUILD_STATUSES.includes(s);

/** `lost`: the lease lapsed (worker crashed or lost the network); the build was requeued or failed. */
export const AttemptStatus = Type.Union([
  Type.Literal('running'),
  Type.Literal('succeeded'),
  Type.Literal('failed'),
  Type.Literal('canceled'),
  Type.Literal('timed_out'),
  Type.Literal('lost'),
]);
export type AttemptStatus = Static<typeof AttemptStatus>;

export const BuildError = Type.Object({
  code: Type.String(),
  message: Type.String(),
  /** One line a person can act on, from the build error catalogue. */
  explanation: Type.Optional(Type.String()),
  phase: Type.Optional(Type.String()),
});
export type BuildError = Static<typeof BuildError>;

export const Attempt = Type.Object({
  id: Id('att'),
  number: Type.Integer(),
  workerId: Type.String(),
  workerName: Type.String(),
  status: AttemptStatus,
  startedAt: Timestamp,
  finishedAt: Type.Union([Timestamp, Type.Null()]),
  leaseExpiresAt: Timestamp,
  error: Type.Union([BuildError, Type.Null()]),
});
export type Attempt = Static<typeof Attempt>;

/** Builds ahead are counted up to this many; past it the position says "1,000+" (positionCapped). */
export const QUEUE_AHEAD_CAP = 1000;

/** While queued: where the build stands and why it waits. */
export const QueueInfo = Type.Object({
  /** 1 = next to be claimed among the org's builds that the same workers could take. */
  position: Type.Integer(),
  /** True when more than QUEUE_AHEAD_CAP builds are ahead: position is then QUEUE_AHEAD_CAP + 1, a lower bound. */
  positionCapped: Type.Boolean(),
  /** e.g. "no enrolled worker can build ios", "waiting for a free slot on 2 matching workers". */
  reason: Type.String(),
  /** Estimated seconds until it starts, from recent build durations; null when unknown. */
  etaSeconds: Type.Union([Type.Number(), Type.Null()]),
  matchingWorkers: Type.Integer(),
  onlineMatchingWorkers: Type.Integer(),
});
export type QueueInfo = Static<typeof QueueInfo>;

export const Build = Type.Object({
  id: Id('bld'),
  project: Type.String(),
  platform: Platform,
  profileName: Type.String(),
  status: BuildStatus,
  priority: Type.Integer(),
  message: Type.Union([Type.String(), Type.Null()]),
  gitCommit: Type.Union([Type.String(), Type.Null()]),
  labels: Labels,
  source: Type.Object({ sha256: Sha256, size: Type.Integer() }),
  hasCredentials: Type.Boolean(),
  attemptCount: Type.Integer(),
  maxAttempts: Type.Integer(),
  timeoutSeconds: Type.Integer(),
  cancelRequested: Type.Boolean(),
  retryOf: Type.Union([Type.String(), Type.Null()]),
  /** The name of the API token that submitted (or retried) it; null for builds older than this field. */
  submittedBy: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  /** The app's folder inside the source (a monorepo); absent or null: the source root. */
  appDir: Type.Optional(Type.Union([AppDir, Type.Null()])),
  createdAt: Timestamp,
  startedAt: Type.Union([Timestamp, Type.Null()]),
  finishedAt: Type.Union([Timestamp, Type.Null()]),
  error: Type.Union([BuildError, Type.Null()]),
  /** Present on GET /v1/builds/:id. */
  attempts: Type.Optional(Type.Array(Attempt)),
  /** Present on GET /v1/builds/:id while queued. */
  queue: Type.Optional(Type.Union([QueueInfo, Type.Null()])),
  profile: Type.Optional(ResolvedProfile),
});
export type Build = Static<typeof Build>;

export const MAX_PRIORITY = 100;
export const DEFAULT_BUILD_TIMEOUT_S = 2 * 60 * 60;
export const DEFAULT_MAX_ATTEMPTS = 3;

/**
 * POST /v1/builds is multipart/form-data with the parts, in this order:
 *   `spec`        (JSON, CreateBuildSpec)            required, first
 *   `credentials` (JSON, CredentialsBundle)          optional; else the project's stored credentials are used
 *   `source`      (application/gzip, the tar.gz)     required, last, streamed
 */
export const CreateBuildSpec = Type.Object(
  {
    project: Name,
    platform: Platform,
    profile: ResolvedProfile,
    env: Type.Optional(EnvVars),
    priority: Type.Optional(Type.Integer({ minimum: -MAX_PRIORITY, maximum: MAX_PRIORITY, default: 0 })),
    message: Type.Optional(NulFreeText(4096)),
    gitCommit: Type.Optional(Type.String({ pattern: '^[0-9a-f]{7,64}$' })),
    /** The app's folder inside the uploaded source, when the CLI packed a monorepo from its git root. */
    appDir: Type.Optional(AppDir),
    /** Required worker labels on top of the platform, e.g. { xcode: '16.2' }. */
    labels: Type.Optional(Labels),
    timeoutSeconds: Type.Optional(Type.Integer({ minimum: 10, maximum: 7 * 24 * 3600 })),
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
  },
  { additionalProperties: false },
);
export type CreateBuildSpec = Static<typeof CreateBuildSpec>;
export const BUILD_PARTS = { spec: 'spec', credentials: 'credentials', source: 'source' } as const;

/**
 * Header of POST /v1/builds: a key the client chooses once per submit (the CLI: a random UUID) and
 * sends again with every retry of that submit. The controller keeps it per org; a submit whose key
 * it has seen returns the first build (200) instead of creating a second one (201). Optional.
 */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
export const IdempotencyKey = Type.String({ pattern: '^[A-Za-z0-9._:-]{16,128}$' });

export const ListBuildsQuery = Type.Intersect([
  Page(200),
  Type.Object({
    status: Type.Optional(BuildStatus),
    platform: Type.Optional(Platform),
    // As a profile's name (profiles.ts): NUL never reaches the store (PostgreSQL refuses it: a 500, not a 400).
    profile: Type.Optional(NulFreeText(128)),
    project: Type.Optional(Name),
  }),
]);
export type ListBuildsQuery = Static<typeof ListBuildsQuery>;

export const BuildList = Type.Object({
  builds: Type.Array(Build),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
export type BuildList = Static<typeof BuildList>;

export const BuildIdParams = Type.Object({ id: Id('bld') });
