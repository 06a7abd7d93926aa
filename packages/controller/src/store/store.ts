/**
 * The store: every fact that must survive a crash, and the queue itself (there is
 * no in-memory queue that could drift from it). One interface, one set of Kysely
 * queries for SQLite and PostgreSQL, one conformance suite for both.
 *
 * Every user-facing read and write takes the caller's orgId and answers
 * `undefined`/`false` for another org's rows, so routes answer 404 the same way
 * for "does not exist" and "not yours".
 */
import type {
  AppVersion,
  Artifact,
  ArtifactKind,
  IosAppInfo,
  AuditEntry,
  Attempt,
  Build,
  BuildStatus,
  Capabilities,
  CreateBuildSpec,
  EnrollmentTokenInfo,
  ListBuildsQuery,
  LogLine,
  Org,
  Platform,
  Project,
  Role,
  TrustRule,
  SandboxExecutor,
  SecretInfo,
  TokenInfo,
  Webhook,
  WebhookDelivery,
  WebhookEventName,
  WorkerInfo,
  WorkerPool,
} from '@buildmesh/protocol';
import type { LogBatchInfo } from './queries/read-logs.js';
import type { DeliveryClaim, DueDelivery } from './queries/webhook-deliveries.js';
import type { AuditCap } from './queries/audit.js';
import type { BucketRow } from '../stats/histograms.js';

export interface EndedBuilds {
  builds: Array<{ platform: string; profile_name: string; status: string; created_at: string; started_at: string | null; finished_at: string | null }>;
  phases: Array<{ platform: string; profile: string; phase: string; duration_ms: number }>;
}

import type { ProvenanceKeyRow, StoredProvenance } from './queries/provenance.js';
export type { ProvenanceKeyRow, StoredProvenance };

export interface TokenRecord extends TokenInfo {
  secretHash: Buffer;
  /** A token minted by an OIDC exchange stops working at this time (null: never). */
  expiresAt: string | null;
  /** Such a token may only submit builds of this project (null: any). */
  project: string | null;
}

export interface EnrollmentTokenRecord extends EnrollmentTokenInfo {
  secretHash: Buffer;
}

export interface WorkerRecord {
  id: string;
  orgId: string | null;
  pool: WorkerPool;
  name: string;
  platforms: Platform[];
  labels: Record<string, string>;
  concurrency: number;
  version: string;
  toolchains: Record<string, string>;
  secretHash: Buffer;
  lastSeenAt: string | null;
  revokedAt: string | null;
  /** The executor it last reported: `none` confines nothing, so such a worker serves only its own org. */
  executor: SandboxExecutor;
  /** The enrollment token that enrolled it (null for workers enrolled before this was recorded). */
  enrollmentTokenId: string | null;
}

/** A dashboard session (routes/sessions.ts); it acts with its token's org and role. */
export interface SessionRecord {
  id: string;
  tokenId: string;
  secretHash: Buffer;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
}

/** What the claim query needs to know about the claiming worker. */
export interface Claimant {
  workerId: string;
  /** null = shared pool: takes any org's builds. */
  orgId: string | null;
  platforms: Platform[];
  labels: Record<string, string>;
  concurrency: number;
  leaseTtlMs: number;
}

export interface ClaimedJob {
  build: Build & { profile: NonNullable<Build['profile']>; env: Record<string, string>; queuedAt: string };
  attempt: Attempt;
}

/** A live attempt as the worker routes see it: the lease check happens against this. */
export interface AttemptRecord {
  id: string;
  buildId: string;
  orgId: string;
  number: number;
  workerId: string;
  status: Attempt['status'];
  leaseExpiresAt: string;
  lastLogSeq: number;
  buildStatus: BuildStatus;
  cancelRequested: boolean;
  sourceSha256: string;
  projectId: string;
}

export type FinishOutcome = 'succeeded' | 'failed' | 'canceled' | 'timed_out';

export interface NewBuild {
  id: string;
  orgId: string;
  projectId: string;
  spec: CreateBuildSpec;
  source: { sha256: string; size: number };
  /** AES-GCM sealed CredentialsBundle, or null. */
  credentialsSealed: Buffer | null;
  retryOf: string | null;
  /** The submit's idempotency key: a repeat with the same key in the org returns the first build. */
  idempotencyKey?: string | null;
  /** The name of the API token that submitted (or retried) it. */
  submittedBy?: string | null;
}

export interface SweepResult {
  /** Attempts whose lease lapsed: build requeued or failed. */
  requeued: string[];
  failed: string[];
  /** Running builds past their timeout. */
  timedOut: string[];
}

export interface MigrationStatus {
  applied: string[];
  pending: string[];
  /** Applied in the database but unknown to this version: the schema is newer than this controller. */
  unknown: string[];
}

/** A queued build as the periodic wake-up re-check offers it to claim waiters. */
export interface QueuedBuildHint {
  buildId: string;
  orgId: string;
  platform: Platform;
  labels: Record<string, string>;
}

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  /** Applies pending migrations (refusing a schema newer than this version); returns the names applied. */
  migrate(): Promise<string[]>;
  close(): Promise<void>;
  /** Cheap round trip for /health. */
  ping(): Promise<void>;
  /** Applied, pending and unknown (newer than this build) migrations, without changing anything. */
  migrationStatus(): Promise<MigrationStatus>;

  // ── instance ───────────────────────────────────────────────────────────────
  /** The encryption-key check value (sealed), and storing it once; plus any sealed value, for databases older than the check. */
  getKeyCheck(): Promise<Buffer | undefined>;
  putKeyCheck(sealed: Buffer): Promise<void>;
  anySealedValue(): Promise<Buffer | undefined>;

  // ── orgs, tokens ───────────────────────────────────────────────────────────
  createOrg(org: { id: string; name: string }): Promise<Org>; // throws ApiError NAME_TAKEN
  getOrg(id: string): Promise<Org | undefined>;
  getOrgByName(name: string): Promise<Org | undefined>;
  listOrgs(): Promise<Org[]>;
  insertToken(t: {
    id: string;
    orgId: string;
    name: string;
    role: Role;
    instanceAdmin: boolean;
    secretHash: Buffer;
    expiresAt?: string;
    project?: string | null;
  }): Promise<TokenInfo>;
  /** Provenance signing keys, oldest first; `retireOthers` makes the new one the only live key (rotation). */
  listProvenanceKeys(): Promise<ProvenanceKeyRow[]>;
  addProvenanceKey(key: ProvenanceKeyRow, retireOthers: boolean): Promise<void>;
  /** An artifact's stored statement; `putProvenance` keeps the first one stored. */
  getProvenance(orgId: string, artifactId: string): Promise<StoredProvenance | undefined>;
  putProvenance(p: { artifact_id: string; build_id: string; org_id: string; key_id: string; envelope: string; created_at: string }): Promise<StoredProvenance>;
  /** CI trust rules: an org's, all of an issuer's (for the exchange), insert, delete (undefined: not the org's). */
  listTrustRules(orgId: string): Promise<TrustRule[]>;
  /** One org's (named by id or name) rules for an issuer, oldest first; none for an unknown org. */
  orgTrustRulesForIssuer(org: string, issuer: string): Promise<TrustRule[]>;
  insertTrustRule(rule: TrustRule): Promise<TrustRule>;
  deleteTrustRule(orgId: string, id: string): Promise<TrustRule | undefined>;
  findToken(id: string): Promise<TokenRecord | undefined>;
  /** Updates last_used_at at most once a minute per token (cheap on the hot path). */
  touchToken(id: string): Promise<void>;
  /** The org's tokens; instance admin tokens only when `includeInstanceAdmin` (the instance admin asks). */
  listTokens(orgId: string, includeInstanceAdmin: boolean): Promise<TokenInfo[]>;
  /** An instance admin token is revoked only when `includeInstanceAdmin`; otherwise it answers undefined (404). */
  revokeToken(orgId: string, id: string, includeInstanceAdmin: boolean): Promise<TokenInfo | undefined>;
  countInstanceAdminTokens(): Promise<number>;
  /** Dashboard sessions: created at sign-in, revoked at sign-out (expired ones are deleted at either). */
  insertSession(s: { id: string; tokenId: string; secretHash: Buffer; expiresAt: string }): Promise<void>;
  findSession(id: string): Promise<SessionRecord | undefined>;
  revokeSession(id: string): Promise<void>;
  /** One transaction: inserts a new instance admin token and revokes every other live one (rotation, a new BUILDMESH_ADMIN_TOKEN). */
  replaceInstanceAdminToken(t: { id: string; orgId: string; name: string; secretHash: Buffer }): Promise<{ token: TokenInfo; revoked: string[] }>;

  insertEnrollmentToken(t: { id: string; orgId: string | null; name: string; pool: WorkerPool; secretHash: Buffer }): Promise<EnrollmentTokenInfo>;
  findEnrollmentToken(id: string): Promise<EnrollmentTokenRecord | undefined>;
  /** The org's own tokens plus, for the instance admin, the shared-pool ones. */
  listEnrollmentTokens(orgId: string, includeShared: boolean): Promise<EnrollmentTokenInfo[]>;
  /** With `andWorkers`, the workers it enrolled are revoked in the same transaction (their ids are returned). */
  revokeEnrollmentToken(
    orgId: string,
    id: string,
    includeShared: boolean,
    andWorkers?: boolean,
  ): Promise<{ enrollmentToken: EnrollmentTokenInfo; revokedWorkers: string[] } | undefined>;

  // ── projects, credentials, secrets ────────────────────────────────────────
  /** Creates the project on first use (builds name their project). */
  ensureProject(orgId: string, id: string, name: string): Promise<Project>;
  createProject(orgId: string, id: string, name: string): Promise<Project>; // NAME_TAKEN
  getProjectByName(orgId: string, name: string): Promise<Project | undefined>;
  listProjects(orgId: string): Promise<Project[]>;
  /** Remote app versions: the stored build version of a project's platform (null when none yet). */
  getAppVersion(orgId: string, projectId: string, platform: 'android' | 'ios'): Promise<AppVersion>;
  setAppVersion(orgId: string, projectId: string, platform: 'android' | 'ios', buildVersion: number): Promise<AppVersion>;
  /** One more than the stored build version (1 when none), stored before it is returned. */
  nextAppVersion(orgId: string, projectId: string, platform: 'android' | 'ios'): Promise<number>;
  /** Sealed bytes per platform; the summary (non-secret) is stored beside it. */
  putProjectCredentials(orgId: string, projectId: string, platform: 'android' | 'ios', sealed: Buffer, summary: unknown): Promise<void>;
  deleteProjectCredentials(orgId: string, projectId: string, platform: Platform): Promise<void>;
  getProjectCredentials(orgId: string, projectId: string): Promise<Array<{ platform: string; sealed: Buffer; summary: unknown; updatedAt: string }>>;
  /** `environment`: the EAS environment the secret is scoped to; absent = unscoped (every build). */
  putSecret(orgId: string, projectId: string, name: string, sealed: Buffer, environment?: string): Promise<SecretInfo>;
  deleteSecret(orgId: string, projectId: string, name: string, environment?: string): Promise<boolean>;
  listSecrets(orgId: string, projectId: string): Promise<SecretInfo[]>;
  /** A build's secrets: the unscoped ones plus those scoped to `environment`, the scoped one winning a name. */
  getSealedSecrets(orgId: string, projectId: string, environment?: string): Promise<Array<{ name: string; sealed: Buffer }>>;

  // ── workers ────────────────────────────────────────────────────────────────
  insertWorker(w: {
    id: string;
    orgId: string | null;
    pool: WorkerPool;
    capabilities: Capabilities;
    secretHash: Buffer;
    enrollmentTokenId?: string | null;
  }): Promise<WorkerRecord>;
  findWorker(id: string): Promise<WorkerRecord | undefined>;
  updateWorkerCapabilities(id: string, capabilities: Capabilities): Promise<void>;
  /** Marks the worker seen now (claims and heartbeats), throttled like touchToken; the first touch after offline sends worker.online. */
  touchWorker(id: string): Promise<void>;
  /** Workers announced online but unseen since `seenBefore` (or revoked) become offline, each with its worker.offline event. */
  markWorkersOffline(seenBefore: Date): Promise<number>;
  /** Workers that may take this org's builds (its own pool and the shared one). */
  listWorkersForOrg(orgId: string, onlineWithinMs: number): Promise<WorkerInfo[]>;
  revokeWorker(orgId: string, id: string, includeShared: boolean): Promise<boolean>;

  // ── builds (the queue) ─────────────────────────────────────────────────────
  /** Inserts a queued build; acknowledged = committed. */
  createBuild(b: NewBuild): Promise<Build>;
  /** ORG_QUEUE_FULL before a submit writes anything (checked again, exactly, by createBuild); a repeat of a made build passes. */
  checkQueueRoom(orgId: string, idempotencyKey: string | null): Promise<void>;
  getBuild(orgId: string, id: string, options?: { withAttempts?: boolean; withProfile?: boolean }): Promise<Build | undefined>;
  listBuilds(orgId: string, query: ListBuildsQuery): Promise<{ builds: Build[]; nextCursor: string | null }>;
  /** Everything retry needs to enqueue the same build again. */
  getBuildForRetry(orgId: string, id: string): Promise<(NewBuild & { status: BuildStatus }) | undefined>;
  /** Queued → canceled at once; running → canceled with cancel_requested so the next heartbeat says stop. */
  cancelBuild(orgId: string, id: string): Promise<Build | undefined>; // BUILD_NOT_CANCELABLE when ended
  /**
   * One transaction: picks the best queued build this worker may take (platform,
   * labels, pool, priority then age), checks free slots, creates the attempt with
   * a lease and marks the build running. Never hands a build out twice.
   */
  claim(claimant: Claimant): Promise<ClaimedJob | undefined>;
  /** Per-org limits every org gets (0 = none): queued builds (createBuild refuses ORG_QUEUE_FULL) and running builds in the shared pool (claims skip the org). */
  setOrgLimits(limits: { maxQueued: number; maxSharedRunning: number }): void;
  /** Undoes a claim nobody received (the long-poll client left): the build is queued again, its attempt not spent. */
  releaseClaim(workerId: string, attemptId: string): Promise<boolean>;
  /** Queue position and waiting reason for a queued build. */
  queueInfo(orgId: string, id: string, onlineWithinMs: number): Promise<Build['queue']>;
  /** Counts for /metrics. */
  stats(onlineWithinMs: number): Promise<{ buildsByStatus: Record<string, number>; queuedByPlatform: Record<string, number>; workersOnline: number }>;

  // ── attempts (worker side; every call checks the lease) ────────────────────
  /** The attempt if it belongs to this worker (any state), else undefined. */
  getAttemptForWorker(workerId: string, attemptId: string): Promise<AttemptRecord | undefined>;
  /** Extends the lease if still live; returns the record after renewal, or undefined if the lease is gone. */
  heartbeat(workerId: string, attemptId: string, leaseTtlMs: number): Promise<AttemptRecord | undefined>;
  /** Appends a log batch: duplicate seq = no-op (returns duplicate), gap = LOG_SEQ_GAP, lease gone = LEASE_LOST. */
  appendLogs(workerId: string, attemptId: string, seq: number, lines: LogLine[]): Promise<{ duplicate: boolean; buildId: string }>;
  /** Records an artifact whose blob is already stored; LEASE_LOST if the lease lapsed meanwhile. */
  addArtifact(workerId: string, attemptId: string, a: { id: string; name: string; kind: ArtifactKind; size: number; sha256: string; app?: IosAppInfo }): Promise<Artifact>;
  /**
   * Ends the attempt and the build. LEASE_LOST when the lease is gone; after a
   * cancel only outcome 'canceled' is accepted (the attempt is ended either way).
   */
  finishAttempt(
    workerId: string,
    attemptId: string,
    outcome: FinishOutcome,
    error: { code: string; message: string; phase?: string } | null,
    /** The phases the worker reports; stored with the finish, in its transaction (statistics). */
    phases?: Array<{ name: string; result: string; durationMs: number }>,
  ): Promise<{ buildStatus: BuildStatus; buildId: string }>;

  // ── logs and artifacts (user side) ─────────────────────────────────────────
  /** Batch sizes from the index alone, at/after `from` (or before it, newest first, with `backwards`); see log-pages.ts. */
  logBatchIndex(
    orgId: string,
    buildId: string,
    options: { from: { attempt: number; seq: number } | null; limit: number; attempt?: number; backwards?: boolean },
  ): Promise<LogBatchInfo[]>;
  /** The stored JSON of the batches from `first` to `last` inclusive (a small range). */
  logBatchLines(
    orgId: string,
    buildId: string,
    options: { first: { attempt: number; seq: number }; last: { attempt: number; seq: number }; attempt?: number },
  ): Promise<Array<{ attempt: number; seq: number; lines: string }>>;
  /** The same as UTF-8 bytes (a page of stored batches sends them as they are). */
  logBatchBytes(
    orgId: string,
    buildId: string,
    options: { first: { attempt: number; seq: number }; last: { attempt: number; seq: number }; attempt?: number },
  ): Promise<Array<{ attempt: number; seq: number; lines: Buffer }>>;
  listArtifacts(orgId: string, buildId: string): Promise<Artifact[] | undefined>;
  getArtifact(orgId: string, buildId: string, artifactId: string): Promise<Artifact | undefined>;

  // ── scheduler ──────────────────────────────────────────────────────────────
  /** Ends lapsed leases (requeue if attempts remain, else fail) and times out overlong builds. Safe to run on many replicas. */
  sweep(now: Date): Promise<SweepResult>;
  /** Removes queue lanes no build waits in or runs from; gives a recent queued build back a lane a racing removal took (sweep-queue-lanes.ts). */
  sweepQueueLanes(now: Date): Promise<{ removed: number; restored: number }>;
  /**
   * At start-up: workers could not heartbeat while the controller was down, so
   * live leases get one fresh TTL instead of all lapsing at the first sweep.
   */
  extendLiveLeases(leaseTtlMs: number): Promise<number>;
  /** Retention: ended builds older than the cutoff lose their artifacts and logs; returns blob keys no longer referenced. */
  expire(cutoff: Date, limit: number): Promise<{ builds: number; unreferencedBlobs: string[] }>;
  /** Is any build or artifact still pointing at this blob? (checked before deleting it) */
  blobReferenced(sha256: string): Promise<boolean>;
  /** Content-addressed uploads: the org uploaded this blob (idempotent). */
  recordOrgBlob(orgId: string, sha256: string, size: number): Promise<void>;
  /** Of these blobs, the ones this org uploaded with that size; another org's are never among them. */
  orgBlobsKnown(orgId: string, blobs: ReadonlyArray<{ sha256: string; size: number }>): Promise<Set<string>>;
  /** The first queued builds in claim order (the wake-up re-check that bounds a lost notification). */
  queuedHints(limit: number): Promise<QueuedBuildHint[]>;
  /** Recent build durations for the ETA (seconds), newest first. */
  recentDurations(orgId: string, projectId: string, platform: Platform, limit: number): Promise<number[]>;

  // ── webhooks (queries/webhooks.ts, webhook-events.ts, webhook-deliveries.ts) ─
  insertWebhook(w: { id: string; orgId: string; projectId: string | null; projectName: string | null; url: string; events: WebhookEventName[]; secretSealed: Buffer }): Promise<Webhook>;
  listWebhooks(orgId: string): Promise<Webhook[]>;
  getWebhook(orgId: string, id: string): Promise<Webhook | undefined>;
  /** The endpoint and its delivery log. */
  deleteWebhook(orgId: string, id: string): Promise<boolean>;
  anyWebhook(): Promise<boolean>;
  /** Claims due outbox rows for a lease, one per webhook, fair between orgs (SKIP LOCKED on PostgreSQL): each is sent by one replica at a time. */
  claimDueDeliveries(claim: DeliveryClaim): Promise<DueDelivery[]>;
  recordDeliveryAttempt(id: string, result: { ok: boolean; statusCode: number | null; error: string | null; latencyMs: number; retryAt: string | null }): Promise<void>;
  listDeliveries(orgId: string, webhookId: string, limit: number): Promise<WebhookDelivery[]>;
  getDelivery(orgId: string, webhookId: string, id: string): Promise<WebhookDelivery | undefined>;
  redeliver(orgId: string, webhookId: string, id: string): Promise<WebhookDelivery | undefined>;
  /** NOT_FOUND when the webhook is not the org's (nothing written). */
  enqueuePing(orgId: string, webhookId: string): Promise<string>;
  /** Retention: deletes up to `limit` ended deliveries made before `cutoff` (ms since the epoch); answers how many. */
  expireDeliveries(cutoff: number, limit: number): Promise<number>;
  /** Deletes up to `limit` deliveries of webhooks that no longer exist (left by a build event racing a delete); answers how many. */
  deleteOrphanDeliveries(limit: number): Promise<number>;
  /** `listener` runs after every commit that may have written outbox rows (the deliverer then looks at once). */
  onOutbox(listener: () => void): void;

  /** Key rotation: re-seals every stored sealed value whose key version is not `version` (queries/reseal.ts). */
  resealAll(version: number, reseal: (sealed: Buffer) => Buffer): Promise<Record<string, number>>;

  // ── statistics (queries/build-stats.ts) ─────────────────────────────────────
  /** Every histogram bucket row (/metrics renders the cumulative histograms from them). */
  durationBuckets(): Promise<BucketRow[]>;
  /** The org's builds that ended since `since` (newest first, at most `limit`) and their reported phases. */
  endedBuilds(orgId: string, since: string, limit: number): Promise<EndedBuilds>;

  // ── audit log (queries/audit.ts): append-only ───────────────────────────────
  appendAudit(entry: AuditEntry): Promise<void>;
  /** Appends unless the actor or the org is at its cap of the action's entries (queries/audit.ts), atomically; answers whether it did. */
  appendAuditCapped(entry: AuditEntry & { orgId: string }, cap: AuditCap): Promise<boolean>;
  /** Oldest first; `orgId` null = every org (the instance admin). */
  listAudit(orgId: string | null, query: { since?: string; cursor?: string; limit: number }): Promise<{ entries: AuditEntry[]; nextCursor: string | null }>;
}
