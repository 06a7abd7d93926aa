/**
 * Table shapes as Kysely sees them. Portable on purpose: timestamps are ISO-8601
 * text (they sort and compare as text in both engines), JSON is text, booleans
 * are 0/1 integers, ids are text. The same queries then serve SQLite and PostgreSQL.
 */
import type { Generated } from 'kysely';

export interface OrgsTable {
  id: string;
  name: string;
  created_at: string;
}

export interface TokensTable {
  id: string;
  org_id: string;
  name: string;
  role: string;
  instance_admin: number;
  secret_hash: Buffer;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  /** Tokens minted by an OIDC exchange (0013) stop working at this time; null: never. */
  expires_at: string | null;
  /** An exchanged token may only submit builds of this project (0013); null: any. */
  project: string | null;
}

export interface EnrollmentTokensTable {
  id: string;
  org_id: string | null;
  name: string;
  pool: string;
  secret_hash: Buffer;
  created_at: string;
  revoked_at: string | null;
}

export interface ProjectsTable {
  id: string;
  org_id: string;
  name: string;
  created_at: string;
}

export interface ProjectCredentialsTable {
  project_id: string;
  platform: string;
  org_id: string;
  sealed: Buffer;
  summary: string;
  updated_at: string;
}

export interface SecretsTable {
  project_id: string;
  name: string;
  /** The EAS environment it is scoped to; '' = every environment (a key column, so never NULL). */
  environment: string;
  org_id: string;
  sealed: Buffer;
  updated_at: string;
}

export interface WorkersTable {
  id: string;
  org_id: string | null;
  pool: string;
  name: string;
  platforms: string;
  labels: string;
  concurrency: number;
  version: string;
  toolchains: string;
  secret_hash: Buffer;
  created_at: string;
  last_seen_at: string | null;
  revoked_at: string | null;
  /** bwrap | none (0005): a none worker never serves another org. */
  executor: string;
  /** The enrollment token that enrolled the worker (0005; null before it). */
  enrollment_token_id: string | null;
  /** online | offline as last announced by a worker.online / worker.offline event (0009); null = never seen since. */
  presence: string | null;
}

export interface BuildsTable {
  id: string;
  org_id: string;
  project_id: string;
  platform: string;
  profile_name: string;
  profile: string;
  env: string;
  labels: string;
  /** labelKey(labels) (label-key.ts): the claim and queue position walk one index range per label set. */
  label_key: string;
  status: string;
  priority: number;
  message: string | null;
  git_commit: string | null;
  source_sha256: string;
  source_size: number;
  credentials_sealed: Buffer | null;
  max_attempts: number;
  attempt_count: number;
  timeout_s: number;
  cancel_requested: number;
  retry_of: string | null;
  created_at: string;
  /** When the build last entered the queue (first submit or requeue): claim latency is measured from it. */
  queued_at: string;
  started_at: string | null;
  finished_at: string | null;
  error_code: string | null;
  error_message: string | null;
  error_phase: string | null;
  /** Set when retention removed the build's logs and artifacts. */
  expired_at: string | null;
  /** The submit's Idempotency-Key (0004), unique per org; null when none was sent. */
  idempotency_key: string | null;
  /** The name of the API token that submitted or retried it (0008); null for older builds. */
  submitted_by: string | null;
  /** Where the app is inside the source (0016), e.g. apps/mobile; null: the source root. */
  app_dir: string | null;
}

export interface AttemptsTable {
  id: string;
  build_id: string;
  org_id: string;
  number: number;
  worker_id: string;
  status: string;
  started_at: string;
  finished_at: string | null;
  lease_expires_at: string;
  /** started_at + the build's timeout: past it the sweeper times the build out. */
  deadline_at: string;
  error_code: string | null;
  error_message: string | null;
  error_phase: string | null;
  last_log_seq: number;
}

export interface LogBatchesTable {
  attempt_id: string;
  seq: number;
  build_id: string;
  attempt_number: number;
  line_count: number;
  /** The batch's LogLine[] as JSON, stored as it arrived (after validation). */
  lines: string;
  /** Length of `lines`: log pages plan how many batches to load from the index alone. */
  size: number;
}

/** Every (org, platform, label set) a build was ever queued with: the claim probes each lane a worker can take. */
export interface QueueLanesTable {
  org_id: string;
  platform: string;
  label_key: string;
  labels: string;
}

/** +1/-1 per build status change, written by triggers (migration 0003) and folded together by stats(). */
export interface BuildCountDeltasTable {
  /** Insertion order (rowid on SQLite, bigserial on PostgreSQL): a fold takes the oldest rows first. */
  id: Generated<number>;
  status: string;
  platform: string;
  n: number;
}

export interface ArtifactsTable {
  id: string;
  build_id: string;
  attempt_id: string;
  attempt_number: number;
  org_id: string;
  name: string;
  kind: string;
  size: number;
  sha256: string;
  created_at: string;
  /** An .ipa's Info.plist facts (0019): all four or none. */
  app_bundle_id?: string | null;
  app_version?: string | null;
  app_build?: string | null;
  app_title?: string | null;
}

/** Instance facts outside any tenant (the encryption key check). */
export interface InstanceMetaTable {
  name: string;
  value: Buffer;
  created_at: string;
}

/** Dashboard sign-ins (0007): only the hash of the cookie's secret. */
export interface DashboardSessionsTable {
  id: string;
  token_id: string;
  secret_hash: Buffer;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
}

/** Webhook endpoints (0009); the signing secret is sealed with the keyring. */
export interface WebhooksTable {
  id: string;
  org_id: string;
  project_id: string | null;
  url: string;
  events: string;
  secret_sealed: Buffer;
  created_at: string;
}

/** The webhook outbox and delivery log (0009): written in the state change's transaction. */
export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  org_id: string;
  event_id: string;
  event: string;
  payload: string;
  status: string;
  attempts: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  last_latency_ms: number | null;
  created_at: string;
  delivered_at: string | null;
}

/** The append-only audit log (0011). */
export interface AuditLogTable {
  id: string;
  org_id: string | null;
  actor_kind: string;
  actor_id: string;
  actor_name: string;
  action: string;
  target_type: string;
  target_id: string;
  details: string;
  ip: string;
  created_at: string;
}

/** Phases a worker reported at finish (0012). */
export interface AttemptPhasesTable {
  attempt_id: string;
  seq: number;
  build_id: string;
  org_id: string;
  platform: string;
  profile: string;
  phase: string;
  result: string;
  duration_ms: number;
  finished_at: string;
}

/** Histogram bucket counts for /metrics (0012): one row per metric, platform, label and bucket. */
/** 0021: PostgreSQL's histogram counts, a bucket spread over a few rows (racing finishes lock different ones). */
export interface DurationBucketShardsTable extends DurationBucketsTable {
  shard: number;
}

export interface DurationBucketsTable {
  metric: string;
  platform: string;
  label: string;
  bucket: number;
  n: number | string;
  total_ms: number | string;
}

/** CI trust rules (0013): an OIDC issuer's ID tokens whose claims match `condition` are exchanged for short-lived tokens. */
export interface TrustRulesTable {
  id: string;
  org_id: string;
  name: string;
  issuer: string;
  audience: string;
  condition: string;
  role: string;
  project: string | null;
  ttl_seconds: number;
  created_at: string;
}

/** Provenance signing keys (0015): Ed25519, the private key sealed with the keyring. */
export interface ProvenanceKeysTable {
  id: string;
  public_key_pem: string;
  private_sealed: Buffer;
  created_at: string;
  retired_at: string | null;
}

/** Each artifact's signed provenance statement (0015): a DSSE envelope as JSON text. */
export interface ArtifactProvenanceTable {
  artifact_id: string;
  build_id: string;
  org_id: string;
  key_id: string;
  envelope: string;
  created_at: string;
}

export interface MigrationMarker {
  id: Generated<number>;
}

/** Blobs an org uploaded (0010): presence is answered per org. */
export interface OrgBlobsTable {
  org_id: string;
  sha256: string;
  size: number;
  created_at: string;
}

export interface AppVersionsTable {
  org_id: string;
  project_id: string;
  platform: string;
  build_version: number;
  updated_at: string;
}

export interface Database {
  orgs: OrgsTable;
  tokens: TokensTable;
  enrollment_tokens: EnrollmentTokensTable;
  projects: ProjectsTable;
  project_credentials: ProjectCredentialsTable;
  secrets: SecretsTable;
  workers: WorkersTable;
  builds: BuildsTable;
  attempts: AttemptsTable;
  log_batches: LogBatchesTable;
  queue_lanes: QueueLanesTable;
  build_count_deltas: BuildCountDeltasTable;
  artifacts: ArtifactsTable;
  org_blobs: OrgBlobsTable;
  instance_meta: InstanceMetaTable;
  dashboard_sessions: DashboardSessionsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  audit_log: AuditLogTable;
  trust_rules: TrustRulesTable;
  provenance_keys: ProvenanceKeysTable;
  artifact_provenance: ArtifactProvenanceTable;
  attempt_phases: AttemptPhasesTable;
  duration_buckets: DurationBucketsTable;
  duration_bucket_shards: DurationBucketShardsTable;
  app_versions: AppVersionsTable;
}
