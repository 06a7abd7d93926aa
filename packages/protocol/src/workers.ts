import { Type, type Static } from 'typebox';
import { EnvVars, Id, Labels, Platform, Sha256, Timestamp } from './common.js';
import { AppDir, BuildError } from './builds.js';
import { ResolvedProfile } from './profiles.js';
import { NulFreeText } from './env-names.js';

export const WorkerPool = Type.Union([Type.Literal('org'), Type.Literal('shared')]);
export type WorkerPool = Static<typeof WorkerPool>;

/** `bwrap` confines a build (Linux namespaces); `none` runs it as the worker's user. */
export const SandboxExecutor = Type.Union([Type.Literal('bwrap'), Type.Literal('none')]);
export type SandboxExecutor = Static<typeof SandboxExecutor>;

/** What a worker can build, detected from its toolchains (never declared by hand). */
export const Capabilities = Type.Object(
  {
    name: NulFreeText(128, 1),
    platforms: Type.Array(Platform, { maxItems: 3 }),
    labels: Labels,
    concurrency: Type.Integer({ minimum: 1, maximum: 64 }),
    version: NulFreeText(64),
    /** Free-form toolchain facts for `buildmesh workers` (node, java, xcode versions…). */
    toolchains: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 256 }))),
    /**
     * The executor the worker runs builds in. `none` confines nothing, so such a worker may only
     * serve its own org: the controller refuses it the shared pool. Absent counts as `none`.
     */
    executor: Type.Optional(SandboxExecutor),
  },
  { additionalProperties: false },
);
export type Capabilities = Static<typeof Capabilities>;

/** Intervals the controller sets; the worker obeys them. */
export const Timing = Type.Object({
  heartbeatIntervalMs: Type.Integer(),
  leaseTtlMs: Type.Integer(),
  claimWaitMs: Type.Integer(),
});
export type Timing = Static<typeof Timing>;

/** POST /v1/workers/enroll, authenticated with an enrollment token. */
export const EnrollRequest = Capabilities;
export const EnrollResponse = Type.Object({
  workerId: Id('wrk'),
  /** The worker's own credential: shown once; the worker stores it (mode 0600). */
  credential: Type.String(),
  timing: Timing,
});
export type EnrollResponse = Static<typeof EnrollResponse>;

/** PUT /v1/worker: a (re)started worker reports its current capabilities. */
export const HelloResponse = Type.Object({ workerId: Type.String(), timing: Timing });
export type HelloResponse = Static<typeof HelloResponse>;

/** POST /v1/worker/claim: a long-poll; 200 with a job, or 204 when none matched within waitMs. */
export const ClaimRequest = Type.Object(
  { waitMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60000 })) },
  { additionalProperties: false },
);
export type ClaimRequest = Static<typeof ClaimRequest>;

/** Everything a worker needs to run one attempt (credentials are fetched separately through the attempt). */
export const BuildJob = Type.Object({
  attempt: Type.Object({ id: Id('att'), number: Type.Integer(), leaseExpiresAt: Timestamp }),
  build: Type.Object({
    id: Id('bld'),
    /** The build's org: worker caches are kept apart per org. Absent from older controllers (then nothing is cached). */
    orgId: Type.Optional(Type.String()),
    project: Type.String(),
    platform: Platform,
    profileName: Type.String(),
    profile: ResolvedProfile,
    env: EnvVars,
    timeoutSeconds: Type.Integer(),
    source: Type.Object({ sha256: Sha256, size: Type.Integer() }),
    hasCredentials: Type.Boolean(),
    message: Type.Union([Type.String(), Type.Null()]),
    gitCommit: Type.Union([Type.String(), Type.Null()]),
    /** Who submitted the build (the API token's name); the build sees it as EAS_BUILD_USERNAME. Absent from older controllers. */
    submittedBy: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    /**
     * Where the app is inside the unpacked source (a monorepo packed from its git root, e.g.
     * `apps/mobile`); absent or null: the source root. EAS_BUILD_WORKINGDIR stays the source root.
     */
    appDir: Type.Optional(Type.Union([AppDir, Type.Null()])),
  }),
  timing: Timing,
});
export type BuildJob = Static<typeof BuildJob>;

export const AttemptParams = Type.Object({ id: Id('att') });

/** POST /v1/attempts/:id/heartbeat renews the lease; the reply says when to stop. */
export const HeartbeatResponse = Type.Object({
  leaseExpiresAt: Timestamp,
  /** Stop the build now: the user canceled it, or it hit its timeout. */
  cancel: Type.Boolean(),
  reason: Type.Union([Type.Literal('canceled'), Type.Literal('timed_out'), Type.Null()]),
  timing: Timing,
});
export type HeartbeatResponse = Static<typeof HeartbeatResponse>;

/** The longest phase a store records: 2^31 − 1 ms (about 24 days; builds time out long before). */
export const MAX_PHASE_DURATION_MS = 2_147_483_647;

export const PhaseSummary = Type.Object({
  name: NulFreeText(64),
  result: NulFreeText(16),
  durationMs: Type.Number({ minimum: 0, maximum: MAX_PHASE_DURATION_MS }),
});

/** POST /v1/attempts/:id/finish */
export const FinishRequest = Type.Object(
  {
    outcome: Type.Union([Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('canceled'), Type.Literal('timed_out')]),
    error: Type.Optional(
      Type.Object({
        code: Type.String({ pattern: '^[A-Z][A-Z0-9_]{0,63}$' }),
        message: NulFreeText(4096),
        phase: Type.Optional(NulFreeText(64)),
      }),
    ),
    phases: Type.Optional(Type.Array(PhaseSummary, { maxItems: 200 })),
  },
  { additionalProperties: false },
);
export type FinishRequest = Static<typeof FinishRequest>;

export const FinishResponse = Type.Object({ buildStatus: Type.String() });
export type FinishResponse = Static<typeof FinishResponse>;

export const WorkerState = Type.Union([Type.Literal('online'), Type.Literal('offline')]);

/** GET /v1/workers: the workers that can take the caller's builds (its org's pool plus the shared pool). */
export const WorkerInfo = Type.Object({
  id: Type.String(),
  name: Type.String(),
  pool: WorkerPool,
  platforms: Type.Array(Platform),
  labels: Labels,
  concurrency: Type.Integer(),
  state: WorkerState,
  /** Builds of the caller's org that this worker runs now (other orgs' builds are counted, not named). */
  currentBuilds: Type.Array(Type.String()),
  busySlots: Type.Integer(),
  lastSeenAt: Type.Union([Timestamp, Type.Null()]),
  version: Type.String(),
  toolchains: Type.Record(Type.String(), Type.String()),
});
export type WorkerInfo = Static<typeof WorkerInfo>;
export const WorkerList = Type.Object({ workers: Type.Array(WorkerInfo) });
export type WorkerList = Static<typeof WorkerList>;

export { BuildError };
