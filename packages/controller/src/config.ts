/**
 * The controller's options: every one has a default (zero-config start), a
 * BUILDMESH_* environment variable, and a line in CONTROLLER_SETTINGS, the table
 * the README's configuration reference is written from.
 *
 * Precedence: explicit options (CLI flags) > environment > defaults. A value that
 * does not parse stops the start with a message naming the variable.
 */
import { resolve } from 'node:path';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface ControllerOptions {
  port: number;
  host: string;
  dataDir: string;
  /** The instance admin token to accept (≥ 24 characters); null = generate one on first start. */
  adminToken: string | null;
  /** Base64 of 32 bytes; null = use (or create) `<dataDir>/encryption.key`. */
  encryptionKey: string | null;
  heartbeatIntervalMs: number;
  leaseTtlMs: number;
  claimWaitMs: number;
  sweepIntervalMs: number;
  bodyIdleTimeoutMs: number;
  maxSourceBytes: number;
  maxArtifactBytes: number;
  retentionDays: number;
  retentionIntervalMs: number;
  logLevel: LogLevel;
  /** SQLite's `synchronous` pragma: normal (default) = survives process crashes; full = fsync every commit (also survives power loss). */
  sqliteSynchronous: SqliteSynchronous;
  /** postgres://… selects the PostgreSQL store (replicas); null = SQLite in dataDir. */
  databaseUrl: string | null;
  /** PostgreSQL connections per replica. */
  databasePoolSize: number;
  /** s3://bucket/prefix?endpoint=…&region=…&forcePathStyle=1 keeps blobs in an S3-compatible bucket; null = <dataDir>/blobs. */
  blobUrl: string | null;
  /** 1 = with an S3 blob store, every transfer still flows through the controller (no presigned URLs). */
  blobProxy: number;
  /** A file holding the base64 key (every replica reads the same key); null = BUILDMESH_ENCRYPTION_KEY or <dataDir>/encryption.key. */
  encryptionKeyFile: string | null;
  /** Comma-separated addresses/CIDRs whose X-Forwarded-For is believed; null = none. */
  trustedProxies: string | null;
  /** Names this replica in /health, logs and pg_stat_activity; null = <host name>-<pid>. */
  replicaId: string | null;
  /** 1 = webhooks may target loopback and private addresses; 0 = refused (SSRF guard). */
  webhookAllowPrivate: number;
  /** 1 = trust rules may name OIDC issuers on private networks or loopback; 0 = refused (SSRF guard). */
  oidcAllowPrivateIssuers: number;
  /** 1 = trust rules may name a local test issuer named 127.0.0.1, [::1] or localhost; 0 = refused. */
  oidcAllowLoopbackIssuers: number;
  /** The first webhook retry waits this long; each further one twice as long (at most 4 h), for about a day. */
  webhookRetryBaseMs: number;
  /** Queued builds one org may have (0 = no limit). */
  orgMaxQueued: number;
  /** Builds one org may run at once on shared-pool workers (0 = no limit). */
  orgMaxSharedRunning: number;
  /** Live streams (log follows, build-list events) one org may hold open on one controller. */
  orgMaxStreams: number;
  /** Dashboard single sign-on: the OIDC issuer URL; null = SSO off. */
  oidcIssuer: string | null;
  oidcClientId: string | null;
  oidcClientSecret: string | null;
  /** `<condition> => <org>:<role>` rules, `;`-separated; first match wins; no match = refused. */
  oidcRoleMapping: string | null;
}

export type SqliteSynchronous = 'full' | 'normal';

type Kind = 'port' | 'string' | 'optional' | 'secret' | 'databaseUrl' | 'duration' | 'bytes' | 'count' | 'logLevel' | 'synchronous';

export interface SettingInfo {
  name: keyof ControllerOptions;
  env: string;
  /** Printable default ('' for secrets that have none). */
  default: string;
  description: string;
}

interface Setting extends SettingInfo {
  kind: Kind;
  value: ControllerOptions[keyof ControllerOptions];
  /** Lower bound (inclusive) for numbers. */
  min?: number;
}

const GiB = 1024 ** 3;

const SETTINGS: readonly Setting[] = [
  { name: 'port', env: 'BUILDMESH_PORT', kind: 'port', value: 4650, default: '4650', description: 'TCP port to listen on (0 = any free port).' },
  { name: 'host', env: 'BUILDMESH_HOST', kind: 'string', value: '127.0.0.1', default: '127.0.0.1', description: 'Address to listen on; 0.0.0.0 to accept workers from other machines.' },
  { name: 'dataDir', env: 'BUILDMESH_DATA_DIR', kind: 'string', value: './.buildmesh', default: './.buildmesh', description: 'Directory for the SQLite database, blobs and the encryption key.' },
  { name: 'adminToken', env: 'BUILDMESH_ADMIN_TOKEN', kind: 'secret', value: null, default: '', description: 'Instance admin token (at least 24 characters). Unset: one is generated and printed once on first start. A value the controller has not seen replaces the previous instance admin token, which stops working.' },
  { name: 'encryptionKey', env: 'BUILDMESH_ENCRYPTION_KEY', kind: 'secret', value: null, default: '', description: 'Base64 of 32 random bytes, the AES-256-GCM key for credentials and secrets. Unset: <dataDir>/encryption.key (mode 0600, created on first start).' },
  { name: 'heartbeatIntervalMs', env: 'BUILDMESH_HEARTBEAT_INTERVAL_MS', kind: 'duration', value: 5000, min: 100, default: '5000', description: 'How often workers send heartbeats for a running attempt.' },
  { name: 'leaseTtlMs', env: 'BUILDMESH_LEASE_TTL_MS', kind: 'duration', value: 30000, min: 200, default: '30000', description: 'A lease not renewed for this long lapses: the attempt ends and the build is requeued or failed.' },
  { name: 'claimWaitMs', env: 'BUILDMESH_CLAIM_WAIT_MS', kind: 'duration', value: 25000, min: 0, default: '25000', description: 'How long an idle worker’s claim long-poll waits for a job.' },
  { name: 'sweepIntervalMs', env: 'BUILDMESH_SWEEP_INTERVAL_MS', kind: 'duration', value: 1000, min: 10, default: '1000', description: 'How often lapsed leases and build timeouts are checked.' },
  { name: 'bodyIdleTimeoutMs', env: 'BUILDMESH_BODY_IDLE_TIMEOUT_MS', kind: 'duration', value: 30000, min: 100, default: '30000', description: 'An upload that sends nothing for this long is cut off (408).' },
  { name: 'maxSourceBytes', env: 'BUILDMESH_MAX_SOURCE_BYTES', kind: 'bytes', value: 2 * GiB, min: 1, default: '2GiB', description: 'Largest source archive a build may upload.' },
  { name: 'maxArtifactBytes', env: 'BUILDMESH_MAX_ARTIFACT_BYTES', kind: 'bytes', value: 4 * GiB, min: 1, default: '4GiB', description: 'Largest artifact a worker may upload.' },
  { name: 'retentionDays', env: 'BUILDMESH_RETENTION_DAYS', kind: 'count', value: 30, min: 0, default: '30', description: 'Ended builds older than this lose their logs and artifacts, and ended webhook deliveries older than this are deleted (0 = keep forever).' },
  { name: 'retentionIntervalMs', env: 'BUILDMESH_RETENTION_INTERVAL_MS', kind: 'duration', value: 3_600_000, min: 1000, default: '3600000', description: 'How often retention runs.' },
  { name: 'logLevel', env: 'BUILDMESH_LOG_LEVEL', kind: 'logLevel', value: 'info', default: 'info', description: `Log level: ${LOG_LEVELS.join(', ')}.` },
  {
    name: 'sqliteSynchronous',
    env: 'BUILDMESH_SQLITE_SYNCHRONOUS',
    kind: 'synchronous',
    // normal by default: a WAL commit then reaches the OS before the request is acknowledged (survives kill -9),
    // without an fsync per commit. On this class of disk an fsync costs 0.3–2+ ms and the event loop waits for
    // it, which capped submits near 350/s; normal runs them at thousands per second. `full` is the choice when
    // an acknowledged build must also survive a power loss or kernel crash; group commit (store/group-commit.ts)
    // makes the writes that arrive during one fsync share the next.
    value: 'normal',
    default: 'normal',
    description: 'normal: every acknowledged write survives a crash of the controller process (kill -9); the last commits before a power loss or OS crash may be lost. full: it also survives a power loss (an fsync per commit; writes that arrive together share one commit, so concurrent submits stay within 2x of normal).',
  },
  {
    name: 'databaseUrl',
    env: 'BUILDMESH_DATABASE_URL',
    kind: 'databaseUrl',
    value: null,
    default: '',
    description: 'postgres://user:password@host:5432/db selects the PostgreSQL store: any number of controller replicas on one database (see "Scale out"). Unset: SQLite in the data dir.',
  },
  { name: 'databasePoolSize', env: 'BUILDMESH_DATABASE_POOL_SIZE', kind: 'count', value: 10, min: 1, default: '10', description: 'PostgreSQL connections per replica (plus one for LISTEN and one for the sweeper lock).' },
  {
    name: 'blobUrl',
    env: 'BUILDMESH_BLOB_URL',
    kind: 'optional',
    value: null,
    default: '',
    description: 's3://bucket/prefix?endpoint=https://host&region=r&forcePathStyle=1 keeps sources and artifacts in an S3-compatible bucket (AWS S3, MinIO, R2), credentials from the AWS chain (AWS_ACCESS_KEY_ID, AWS_PROFILE, …); needed by replicas that share no disk. Unset: <dataDir>/blobs.',
  },
  {
    name: 'blobProxy',
    env: 'BUILDMESH_BLOB_PROXY',
    kind: 'count',
    value: 0,
    min: 0,
    default: '0',
    description: 'With an s3:// BUILDMESH_BLOB_URL: 0 = the CLI uploads sources and workers download them, and artifact downloads go, straight to and from the bucket through short-lived presigned URLs; 1 = every byte flows through the controller (for a bucket that clients or workers cannot reach).',
  },
  {
    name: 'encryptionKeyFile',
    env: 'BUILDMESH_ENCRYPTION_KEY_FILE',
    kind: 'optional',
    value: null,
    default: '',
    description: 'A file holding the base64 key instead of BUILDMESH_ENCRYPTION_KEY (e.g. a mounted secret); every replica must use the same key.',
  },
  {
    name: 'trustedProxies',
    env: 'BUILDMESH_TRUSTED_PROXIES',
    kind: 'optional',
    value: null,
    default: '',
    description: 'Comma-separated addresses or CIDRs of load balancers whose X-Forwarded-For is believed (e.g. 127.0.0.1,10.0.0.0/8). Unset: the client address is the TCP peer.',
  },
  { name: 'replicaId', env: 'BUILDMESH_REPLICA_ID', kind: 'optional', value: null, default: '', description: 'This replica\'s name in /health, logs and pg_stat_activity. Unset: <host name>-<pid>.' },
  {
    name: 'webhookAllowPrivate',
    env: 'BUILDMESH_WEBHOOK_ALLOW_PRIVATE',
    kind: 'count',
    value: 0,
    min: 0,
    default: '0',
    description: '1 lets webhooks target loopback, private, link-local and CGNAT addresses (a receiver on the same host or network); 0 refuses them when added and at every connection.',
  },
  {
    name: 'oidcAllowPrivateIssuers',
    env: 'BUILDMESH_OIDC_ALLOW_PRIVATE_ISSUERS',
    kind: 'count',
    value: 0,
    min: 0,
    default: '0',
    description: '1 lets trust rules name OIDC issuers (and key sets) on private, link-local or CGNAT addresses, e.g. a GitLab inside your network, and loopback too (the controller host is reachable at its own network address anyway); 0 refuses them when a rule is added and at connect time, in the DNS lookup of each connection (so DNS rebinding reaches nothing).',
  },
  {
    name: 'oidcAllowLoopbackIssuers',
    env: 'BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS',
    kind: 'count',
    value: 0,
    min: 0,
    default: '0',
    description: '1 lets trust rules name a local test issuer on the controller\'s own host: http or https on 127.0.0.1, [::1] or localhost, and key sets on loopback for such an issuer only, never a name resolving to loopback. 0 refuses loopback issuers when a rule is added and at connect time, so an org admin cannot make the controller probe its own host\'s ports. Leave it 0 when tenants are not all trusted.',
  },
  {
    name: 'webhookRetryBaseMs',
    env: 'BUILDMESH_WEBHOOK_RETRY_BASE_MS',
    kind: 'duration',
    value: 15_000,
    min: 10,
    default: '15000',
    description: 'Wait before the first webhook retry; each further retry waits twice as long (at most 4 h) until about a day after the event.',
  },
  {
    name: 'orgMaxStreams',
    env: 'BUILDMESH_ORG_MAX_STREAMS',
    kind: 'count',
    value: 200,
    min: 1,
    default: '200',
    description: 'Live streams (logs -f, the dashboard\'s live views) one org may hold open on one controller; one more answers 429 TOO_MANY_STREAMS.',
  },
  { name: 'orgMaxQueued', env: 'BUILDMESH_ORG_MAX_QUEUED', kind: 'count', value: 0, min: 0, default: '0', description: 'Queued builds each org may have; a submit beyond it answers 429 ORG_QUEUE_FULL (0 = no limit).' },
  {
    name: 'orgMaxSharedRunning',
    env: 'BUILDMESH_ORG_MAX_SHARED_RUNNING',
    kind: 'count',
    value: 0,
    min: 0,
    default: '0',
    description: "Builds each org may run at once on shared-pool workers; the pool's claims skip an org at its limit (0 = no limit). Org-pool workers are not limited. Set it when the shared pool serves orgs that do not trust each other: priority is compared across orgs before fairness.",
  },
  {
    name: 'oidcIssuer',
    env: 'BUILDMESH_OIDC_ISSUER',
    kind: 'optional',
    value: null,
    default: '',
    description: 'Dashboard single sign-on: the OIDC issuer (https://…; found by discovery). With BUILDMESH_OIDC_CLIENT_ID set, the sign-in page offers "Sign in with SSO". Unset: token sign-in only.',
  },
  { name: 'oidcClientId', env: 'BUILDMESH_OIDC_CLIENT_ID', kind: 'optional', value: null, default: '', description: "The controller's client id at the issuer (redirect URI: <controller URL>/v1/sso/callback)." },
  { name: 'oidcClientSecret', env: 'BUILDMESH_OIDC_CLIENT_SECRET', kind: 'secret', value: null, default: '', description: 'Its client secret (unset for a public client; PKCE is used either way).' },
  {
    name: 'oidcRoleMapping',
    env: 'BUILDMESH_OIDC_ROLE_MAPPING',
    kind: 'optional',
    value: null,
    default: '',
    description: 'Who may sign in, as which org and role: `;`-separated rules `<condition> => <org>:<role>`, e.g. `email == "boss@acme.com" => acme:admin; email == "*@acme.com" => acme:member` (conditions as for trust rules; first match wins). A user no rule matches is refused.',
  },
];

/** For the README and `buildmesh controller --help`: every option with its variable and default. */
export const CONTROLLER_SETTINGS: readonly SettingInfo[] = SETTINGS.map(({ name, env, default: d, description }) => ({
  name,
  env,
  default: d,
  description,
}));

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: GiB, gb: GiB, gib: GiB, t: 1024 ** 4, tb: 1024 ** 4, tib: 1024 ** 4 };

function parseValue(setting: Setting, raw: string, source: string): ControllerOptions[keyof ControllerOptions] {
  const fail = (why: string): never => {
    throw new ConfigError(`${source}: ${why} (got ${setting.kind === 'secret' ? 'a value' : JSON.stringify(raw)})`);
  };
  const text = raw.trim();
  switch (setting.kind) {
    case 'string':
      if (text === '') fail('must not be empty');
      return text;
    case 'secret':
      return raw === '' ? null : raw;
    case 'optional':
      return text === '' ? null : text;
    case 'databaseUrl': {
      if (text === '') return null;
      let url: URL | undefined;
      try {
        url = new URL(text);
      } catch {
        url = undefined;
      }
      // The value may hold a password: never echoed back.
      if (!url || (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') || url.pathname.length < 2) {
        throw new ConfigError(`${source}: must be a URL like postgres://user:password@host:5432/buildmesh`);
      }
      return text;
    }
    case 'logLevel':
      if (!LOG_LEVELS.includes(text as LogLevel)) fail(`must be one of ${LOG_LEVELS.join(', ')}`);
      return text as LogLevel;
    case 'synchronous':
      if (text !== 'full' && text !== 'normal') fail('must be full or normal');
      return text as SqliteSynchronous;
    case 'port': {
      if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) fail('must be a port number 0–65535');
      return Number(text);
    }
    case 'duration':
    case 'count': {
      if (!/^\d{1,15}$/.test(text)) fail('must be a whole number');
      const n = Number(text);
      if (setting.min !== undefined && n < setting.min) fail(`must be at least ${setting.min}`);
      return n;
    }
    case 'bytes': {
      const m = /^(\d{1,16})\s*([a-z]*)$/i.exec(text);
      const unit = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
      if (!m || unit === undefined) fail('must be a byte count like 1048576, 512MiB or 2GiB');
      const n = Number(m![1]) * unit!;
      if (!Number.isSafeInteger(n)) fail('is too large');
      if (setting.min !== undefined && n < setting.min) fail(`must be at least ${setting.min}`);
      return n;
    }
  }
}

function checkValue(setting: Setting, value: unknown): void {
  const source = `option ${setting.name}`;
  if (setting.kind === 'string' || setting.kind === 'logLevel' || setting.kind === 'synchronous') {
    if (typeof value !== 'string') throw new ConfigError(`${source}: must be a string`);
    parseValue(setting, value, source);
  } else if (setting.kind === 'secret' || setting.kind === 'optional' || setting.kind === 'databaseUrl') {
    if (value !== null && typeof value !== 'string') throw new ConfigError(`${source}: must be a string or null`);
    if (typeof value === 'string' && setting.kind !== 'secret') parseValue(setting, value, source);
  } else {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new ConfigError(`${source}: must be a whole number`);
    parseValue(setting, String(value), source);
  }
}

/**
 * Applies the environment and the defaults to the given options and validates
 * the result. Relative data dirs resolve against the current directory.
 */
export function resolveOptions(options: Partial<ControllerOptions> = {}, env: NodeJS.ProcessEnv = process.env): ControllerOptions {
  const resolved: Record<string, unknown> = {};
  for (const setting of SETTINGS) {
    const given = options[setting.name];
    if (given !== undefined) {
      checkValue(setting, given);
      resolved[setting.name] = given;
      continue;
    }
    const raw = env[setting.env];
    resolved[setting.name] = raw !== undefined && raw !== '' ? parseValue(setting, raw, setting.env) : setting.value;
  }
  const result = resolved as unknown as ControllerOptions;
  result.dataDir = resolve(result.dataDir);
  if (result.adminToken !== null && result.adminToken.length < 24) {
    throw new ConfigError('BUILDMESH_ADMIN_TOKEN: must be at least 24 characters');
  }
  if (result.adminToken !== null && /\s/.test(result.adminToken)) {
    throw new ConfigError('BUILDMESH_ADMIN_TOKEN: must not contain whitespace');
  }
  if (result.encryptionKey !== null) {
    const key = Buffer.from(result.encryptionKey.trim(), 'base64');
    if (key.length !== 32 || !/^[A-Za-z0-9+/]+={0,2}$/.test(result.encryptionKey.trim())) {
      throw new ConfigError('BUILDMESH_ENCRYPTION_KEY: must be the base64 encoding of exactly 32 bytes (e.g. `openssl rand -base64 32`)');
    }
  }
  if (result.databaseUrl !== null && result.encryptionKey === null && result.encryptionKeyFile === null) {
    throw new ConfigError(
      'BUILDMESH_DATABASE_URL is set: set BUILDMESH_ENCRYPTION_KEY or BUILDMESH_ENCRYPTION_KEY_FILE too, to the same key on every replica (first replica: `openssl rand -base64 32`)',
    );
  }
  if (result.encryptionKey !== null && result.encryptionKeyFile !== null) {
    throw new ConfigError('set BUILDMESH_ENCRYPTION_KEY or BUILDMESH_ENCRYPTION_KEY_FILE, not both');
  }
  if (result.encryptionKeyFile !== null) result.encryptionKeyFile = resolve(result.encryptionKeyFile);
  if (result.heartbeatIntervalMs * 2 > result.leaseTtlMs) {
    throw new ConfigError(
      `BUILDMESH_LEASE_TTL_MS (${result.leaseTtlMs}) must be at least twice BUILDMESH_HEARTBEAT_INTERVAL_MS (${result.heartbeatIntervalMs}), or one late heartbeat loses the lease`,
    );
  }
  return result;
}

/** The longest a claim may wait (the protocol's ClaimRequest allows up to 60 s). */
export const MAX_CLAIM_WAIT_MS = 60_000;

/** A worker counts as online when it was seen (claim, heartbeat, hello) within this window. */
export function onlineWindowMs(options: ControllerOptions): number {
  return Math.max(options.claimWaitMs, options.heartbeatIntervalMs) + options.leaseTtlMs;
}
