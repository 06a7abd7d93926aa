/**
 * The typed client of the /v1 API, used by the worker, the CLI and the dashboard.
 * Every path the controller serves is named here once; the controller's routes
 * validate with the same schemas this file's types come from. Requests answered
 * with JSON (uploads included) go through a JsonTransport, downloads through a
 * StreamTransport, when one is set (in Node: undici's request, set by the package's
 * Node entry; see node-transport.ts); log and event streams, and browsers, use fetch.
 */
import type { Readable } from 'node:stream';
import { ApiError, isApiErrorCode, type ApiErrorBody } from './errors.js';
import type { Artifact, ArtifactKind, ArtifactList, InstallLink, IosAppInfo } from './artifacts.js';
import type { AppVersion } from './app-versions.js';
import type { BlobPresence, BlobRef, BlobUploadTicket, CreateBuildRequest } from './blobs.js';
import { IDEMPOTENCY_KEY_HEADER, type Build, type BuildList, type CreateBuildSpec, type ListBuildsQuery } from './builds.js';
import { SHA256_HEADER, type Platform } from './common.js';
import type { AttemptSecrets, CredentialsBundle, CredentialsSummary, SecretInfo } from './credentials.js';
import type { LogBatch, LogBatchAck, LogEntry, LogPage } from './logs.js';
import { backoffDelay, NetworkError, RedirectRefused, sleep, type RetryOptions } from './retry.js';
import { readSse } from './sse.js';
import type { CreateSessionRequest, Session } from './sessions.js';
import type { CreatedWebhook, CreateWebhookRequest, Webhook, WebhookDelivery } from './webhooks.js';
import type { AuditList, AuditQuery } from './audit.js';
import type { Stats } from './stats.js';
import type { CreateTrustRuleRequest, OidcExchangeResponse, TrustRule } from './trust.js';
import { PROVENANCE_KEYS_PATH, type ArtifactProvenance, type ProvenanceKey, type ProvenanceKeyList } from './provenance.js';
import type {
  CreatedEnrollmentToken,
  CreatedToken,
  CreateTokenRequest,
  EnrollmentTokenInfo,
  Health,
  Org,
  Project,
  RevokedEnrollmentToken,
  RotatedInstanceAdminToken,
  RotatedKey,
  TokenInfo,
  WhoAmI,
} from './tenancy.js';
import type {
  BuildJob,
  Capabilities,
  EnrollResponse,
  FinishRequest,
  FinishResponse,
  HeartbeatResponse,
  HelloResponse,
  WorkerInfo,
  WorkerPool,
} from './workers.js';
import type { BuildStatus } from './builds.js';

export interface ClientOptions {
  url: string;
  token?: string;
  /** Applied to every request except streams and long-polls, which carry their own. */
  timeoutMs?: number;
  userAgent?: string;
  /** Sent with every request (the dashboard: its session's CSRF token). */
  headers?: Record<string, string>;
  /**
   * A streamed upload (a source, an artifact, a presigned PUT) whose receiver takes no bytes for this long
   * fails with a NetworkError, its source closed; the wait for the answer once every byte is sent is not
   * counted (the controller verifies before answering). Bytes are taken as the socket's send buffer drains
   * (a few MB at a time), so this also bounds how slow a link may be: 300 s allows ~10 KB/s. Default 300,000 ms.
   */
  uploadIdleTimeoutMs?: number;
}

/**
 * A stream body watched for progress: `stalled` aborts with a NetworkError when the receiver has taken no
 * chunk for `idleMs` while bytes remain; `signal` is that and the caller's signal, for the request. Ends
 * with the body (or when the request gives the body up).
 */
function watchUpload(
  body: AsyncIterable<Uint8Array>,
  idleMs: number,
  callerSignal: AbortSignal | undefined,
): { body: AsyncIterable<Uint8Array>; signal: AbortSignal; stalled: AbortSignal } {
  const stalled = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => stalled.abort(new NetworkError(`the receiver took no bytes of the upload for ${idleMs / 1000} s`)), idleMs);
    // Never what keeps a process alive (an upload given up without closing its body leaves the timer armed).
    (timer as { unref?: () => void }).unref?.();
  };
  async function* watched(): AsyncIterable<Uint8Array> {
    arm();
    try {
      for await (const chunk of body) {
        yield chunk;
        arm(); // the chunk was taken
      }
    } finally {
      clearTimeout(timer);
    }
  }
  return { body: watched(), signal: callerSignal ? AbortSignal.any([callerSignal, stalled.signal]) : stalled.signal, stalled: stalled.signal };
}

type Query = Record<string, string | number | boolean | undefined>;

/** Sends one request with an optional body (JSON text, or a stream sent as it is read) and reads its (small) answer whole. */
export interface JsonTransport {
  send(request: { method: string; url: string; headers: Record<string, string>; body: string | AsyncIterable<Uint8Array> | undefined; signal: AbortSignal | undefined }): Promise<{
    status: number;
    text: string;
  }>;
}

/** A streamed answer (a download): its status, headers and body, read as it arrives. */
export interface StreamedAnswer {
  status: number;
  /** A header of the answer (case-insensitive name), or null. */
  header(name: string): string | null;
  /** The body, to be read once. */
  body: AsyncIterable<Uint8Array>;
  /** Stops reading the body and lets the connection go. */
  cancel(): Promise<void>;
}

/**
 * Sends a GET and hands back its answer as it streams, following redirects (a presigned GET in S3 mode)
 * without the caller's credentials when they lead to another origin. The Node entry sets undici's.
 */
export interface StreamTransport {
  get(request: { url: string; headers: Record<string, string>; signal: AbortSignal | undefined }): Promise<StreamedAnswer>;
}

/** The largest answer read whole: far above any the API gives (a page of 1,000 audit entries is ~1 MB). */
export const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/**
 * An answer's body read whole as text, refusing one past MAX_ANSWER_BYTES: a broken or hostile server (or
 * the one a redirect names) cannot fill memory. Leaving the loop early gives the body up (its iterator's
 * return cancels a fetch body and destroys undici's).
 */
export async function readBoundedText(body: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > MAX_ANSWER_BYTES) throw new Error(`the answer is larger than ${MAX_ANSWER_BYTES} bytes`);
    chunks.push(chunk);
  }
  const whole = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    whole.set(chunk, at);
    at += chunk.byteLength;
  }
  return new TextDecoder().decode(whole);
}

/** A fetch answer's text (a redirected JSON call, an error's body), bounded as readBoundedText. */
function boundedText(response: Response): Promise<string> {
  return response.body ? readBoundedText(chunksOf(response.body)) : Promise.resolve('');
}

/** A web stream's chunks (browsers do not all iterate a ReadableStream with for await). */
async function* chunksOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

let defaultTransport: JsonTransport | undefined;
/** The transport every client uses for JSON calls (the Node entry sets undici's; unset: fetch). */
export function setDefaultJsonTransport(transport: JsonTransport | undefined): void {
  defaultTransport = transport;
}

let streamTransport: StreamTransport | undefined;
/** The transport of streamed downloads (the Node entry sets undici's; unset: fetch). */
export function setDefaultStreamTransport(transport: StreamTransport | undefined): void {
  streamTransport = transport;
}

/** A fetch answer as a StreamedAnswer (browsers, or no transport set). */
function fromFetch(response: Response): StreamedAnswer {
  const body = response.body;
  return {
    status: response.status,
    header: (name) => response.headers.get(name),
    body: body ? chunksOf(body) : (async function* () {})(),
    cancel: async () => {
      await body?.cancel().catch(() => undefined);
    },
  };
}

interface RequestOptions {
  query?: Query;
  json?: unknown;
  body?: Readable | AsyncIterable<Uint8Array>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  timeoutMs?: number | null;
}

/**
 * How long completing a direct upload may take: the controller reads the object back whole to check
 * its sha256 (and copies it into place), so the wait grows with the size — a minute plus a second per
 * 5 MiB (2 GiB: about 8 minutes), where a fixed 30 s cut a 2 GiB source's completion short.
 */
export function verificationTimeoutMs(size: number): number {
  return 60_000 + Math.ceil(size / (5 * 1024 * 1024)) * 1000;
}

/** A secret's environment scope as a query string ('' when unscoped). */
const scopeQuery = (environment?: string) => (environment ? `?environment=${encodeURIComponent(environment)}` : '');

export class BuildMeshClient {
  readonly url: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private readonly userAgent: string;
  private readonly headers: Record<string, string>;
  private readonly uploadIdleTimeoutMs: number;

  constructor(options: ClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.userAgent = options.userAgent ?? 'buildmesh-client';
    this.headers = options.headers ?? {};
    this.uploadIdleTimeoutMs = options.uploadIdleTimeoutMs ?? 300_000;
  }

  withToken(token: string): BuildMeshClient {
    return new BuildMeshClient({ url: this.url, token, timeoutMs: this.timeoutMs, userAgent: this.userAgent, headers: this.headers, uploadIdleTimeoutMs: this.uploadIdleTimeoutMs });
  }

  // ── plumbing ────────────────────────────────────────────────────────────────

  /** Sends a request and returns the raw response; non-2xx answers become ApiError. */
  async raw(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const { url, headers, text, signal } = this.prepare(path, options);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: text ?? (options.body as unknown as RequestInit['body']),
        signal,
        // Streams go up as they are read, never buffered (Node's fetch needs this for a stream body).
        ...(options.body ? { duplex: 'half' } : {}),
      } as RequestInit);
    } catch (err) {
      throw this.networkError(err, options);
    }
    if (!response.ok) {
      throw apiErrorFrom(response.status, await boundedText(response).catch(() => ''), response.statusText);
    }
    return response;
  }

  /**
   * A GET whose answer is read as it streams (artifacts, sources): undici's request under Node, about
   * 40% less of the client's CPU than fetch's WHATWG streams (docs/performance.md). Non-2xx answers
   * become ApiError.
   */
  async streamed(path: string, options: RequestOptions = {}): Promise<StreamedAnswer> {
    const transport = streamTransport;
    if (!transport) return fromFetch(await this.raw('GET', path, options));
    const { url, headers, signal } = this.prepare(path, options);
    let answer: StreamedAnswer;
    try {
      answer = await transport.get({ url: url.href, headers, signal });
    } catch (err) {
      if (err instanceof RedirectRefused) throw err;
      throw this.networkError(err, options);
    }
    if (answer.status < 200 || answer.status >= 300) {
      // The error's body is a courtesy: past the cap, or cut off, the status says enough.
      const text = await readBoundedText(answer.body).catch(() => '');
      await answer.cancel();
      throw apiErrorFrom(answer.status, text);
    }
    return answer;
  }

  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    if (options.body) {
      const watched = watchUpload(options.body, this.uploadIdleTimeoutMs, options.signal);
      options = { ...options, body: watched.body, signal: watched.signal };
    }
    const transport = defaultTransport;
    if (!transport) return this.jsonViaFetch(method, path, options);
    const { url, headers, text, signal } = this.prepare(path, options);
    let answer: { status: number; text: string };
    try {
      answer = await transport.send({ method, url: url.href, headers, body: text ?? options.body, signal });
    } catch (err) {
      throw this.networkError(err, options);
    }
    // A redirect (a proxy sending http to https, say) is fetch's to follow, as every other call does;
    // a stream has been read and cannot be sent again (nor would fetch follow a redirect with one).
    if (answer.status >= 300 && answer.status < 400) {
      if (options.body) throw apiErrorFrom(answer.status, answer.text);
      return this.jsonViaFetch(method, path, options);
    }
    if (answer.status < 200 || answer.status >= 300) throw apiErrorFrom(answer.status, answer.text);
    if (answer.status === 204 || answer.text === '') return undefined as T;
    return JSON.parse(answer.text) as T;
  }

  private async jsonViaFetch<T>(method: string, path: string, options: RequestOptions): Promise<T> {
    const response = await this.raw(method, path, options);
    if (response.status === 204) return undefined as T;
    let text: string;
    try {
      text = await boundedText(response);
    } catch (err) {
      throw this.networkError(err, options);
    }
    return JSON.parse(text) as T;
  }

  /** The URL, headers, JSON text and abort signal (the caller's and the timeout) of a request. */
  private prepare(path: string, options: RequestOptions): { url: URL; headers: Record<string, string>; text: string | undefined; signal: AbortSignal | undefined } {
    const url = new URL(this.url + path);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { 'user-agent': this.userAgent, ...this.headers, ...options.headers };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let text: string | undefined;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      text = JSON.stringify(options.json);
    }
    const timeoutMs = options.timeoutMs === undefined ? this.timeoutMs : options.timeoutMs;
    const signals = [options.signal, timeoutMs === null ? undefined : AbortSignal.timeout(timeoutMs)].filter((s): s is AbortSignal => s !== undefined);
    return { url, headers, text, signal: signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals) };
  }

  /** A failure to get any answer: the caller's own abort as it is, anything else a NetworkError. */
  private networkError(err: unknown, options: RequestOptions): unknown {
    // An upload whose receiver stopped taking bytes (watchUpload) says so; the caller's own abort is passed on as it is.
    if (options.signal?.aborted) return options.signal.reason instanceof NetworkError ? options.signal.reason : err;
    return new NetworkError(`cannot reach ${this.url}: ${(err as Error).cause ?? (err as Error).message}`, err);
  }

  // ── instance ────────────────────────────────────────────────────────────────

  health(): Promise<Health> {
    return this.json('GET', '/health');
  }

  // ── identity and tenancy ────────────────────────────────────────────────────

  whoami(): Promise<WhoAmI> {
    return this.json('GET', '/v1/me');
  }
  /** Dashboard sign-in: the token is exchanged for a session cookie (set by the response). */
  createSession(request: CreateSessionRequest): Promise<Session> {
    return this.json('POST', '/v1/sessions', { json: request });
  }
  /** The session of the cookie this request carries (its CSRF token included). */
  currentSession(): Promise<Session> {
    return this.json('GET', '/v1/sessions/current');
  }
  /** Sign-out: the session is revoked and its cookie cleared. */
  deleteSession(): Promise<{ ok: true }> {
    return this.json('DELETE', '/v1/sessions/current');
  }
  createOrg(name: string): Promise<Org> {
    return this.json('POST', '/v1/orgs', { json: { name } });
  }
  listOrgs(): Promise<{ orgs: Org[] }> {
    return this.json('GET', '/v1/orgs');
  }
  createToken(request: CreateTokenRequest): Promise<CreatedToken> {
    return this.json('POST', '/v1/tokens', { json: request });
  }
  listTokens(): Promise<{ tokens: TokenInfo[] }> {
    return this.json('GET', '/v1/tokens');
  }
  revokeToken(id: string): Promise<TokenInfo> {
    return this.json('DELETE', `/v1/tokens/${encodeURIComponent(id)}`);
  }
  /** The artifact's signed provenance (issued on first request once the attempt that made it succeeded). */
  artifactProvenance(buildId: string, artifactId: string): Promise<ArtifactProvenance> {
    return this.json('GET', `/v1/builds/${encodeURIComponent(buildId)}/artifacts/${encodeURIComponent(artifactId)}/provenance`);
  }
  /** The instance's provenance signing keys, current and retired (public). */
  provenanceKeys(): Promise<ProvenanceKeyList> {
    return this.json('GET', PROVENANCE_KEYS_PATH);
  }
  /** Instance admin: a new signing key signs from now on; the old ones stay published for verification. */
  rotateProvenanceKey(): Promise<ProvenanceKey> {
    return this.json('POST', '/v1/provenance-keys/rotate', { json: {} });
  }
  /** CI: trades a platform's OIDC ID token for a short-lived API token of `org` (its id or name; no bearer needed). */
  exchangeOidcToken(token: string, org: string): Promise<OidcExchangeResponse> {
    return this.json('POST', '/v1/oidc/exchange', { json: { token, org } });
  }
  createTrustRule(request: CreateTrustRuleRequest): Promise<TrustRule> {
    return this.json('POST', '/v1/trust-rules', { json: request });
  }
  listTrustRules(): Promise<{ rules: TrustRule[] }> {
    return this.json('GET', '/v1/trust-rules');
  }
  deleteTrustRule(id: string): Promise<TrustRule> {
    return this.json('DELETE', `/v1/trust-rules/${encodeURIComponent(id)}`);
  }
  createEnrollmentToken(name: string, pool?: WorkerPool): Promise<CreatedEnrollmentToken> {
    return this.json('POST', '/v1/enrollment-tokens', { json: { name, pool } });
  }
  listEnrollmentTokens(): Promise<{ enrollmentTokens: EnrollmentTokenInfo[] }> {
    return this.json('GET', '/v1/enrollment-tokens');
  }
  /** With `andWorkers`, every worker the token enrolled is revoked too. */
  revokeEnrollmentToken(id: string, options: { andWorkers?: boolean } = {}): Promise<RevokedEnrollmentToken> {
    const query = options.andWorkers ? '?andWorkers=true' : '';
    return this.json('DELETE', `/v1/enrollment-tokens/${encodeURIComponent(id)}${query}`);
  }
  /** Instance admin only: a new encryption key; every stored sealed value is re-sealed under it. */
  rotateEncryptionKey(): Promise<RotatedKey> {
    return this.json('POST', '/v1/instance-admin/rotate-key', { json: {} });
  }
  /** Instance admin only: a new instance admin token (shown once); every earlier one, this client's included, stops working. */
  rotateInstanceAdminToken(): Promise<RotatedInstanceAdminToken> {
    return this.json('POST', '/v1/instance-admin/rotate', { json: {} });
  }

  /** Success rate and duration percentiles of the org's builds over the last `hours` (default 168). */
  stats(hours?: number): Promise<Stats> {
    return this.json('GET', `/v1/stats${hours ? `?hours=${hours}` : ''}`);
  }

  /** The audit log, oldest first (admin: the org's; instance admin: every org's). */
  audit(query: AuditQuery = {}): Promise<AuditList> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return this.json('GET', `/v1/audit${qs ? `?${qs}` : ''}`);
  }

  // ── webhooks (admin) ────────────────────────────────────────────────────────

  /** The signing secret in the answer is shown once. */
  createWebhook(request: CreateWebhookRequest): Promise<CreatedWebhook> {
    return this.json('POST', '/v1/webhooks', { json: request });
  }
  listWebhooks(): Promise<{ webhooks: Webhook[] }> {
    return this.json('GET', '/v1/webhooks');
  }
  deleteWebhook(id: string): Promise<{ ok: true }> {
    return this.json('DELETE', `/v1/webhooks/${encodeURIComponent(id)}`);
  }
  webhookDeliveries(id: string, limit?: number): Promise<{ deliveries: WebhookDelivery[] }> {
    return this.json('GET', `/v1/webhooks/${encodeURIComponent(id)}/deliveries${limit ? `?limit=${limit}` : ''}`);
  }
  redeliverWebhook(id: string, deliveryId: string): Promise<WebhookDelivery> {
    return this.json('POST', `/v1/webhooks/${encodeURIComponent(id)}/deliveries/${encodeURIComponent(deliveryId)}/redeliver`, { json: {} });
  }
  /** Sends a signed `ping`; answers with its delivery after the first attempt. */
  testWebhook(id: string): Promise<WebhookDelivery> {
    return this.json('POST', `/v1/webhooks/${encodeURIComponent(id)}/test`, { json: {} });
  }

  // ── projects, credentials, secrets ──────────────────────────────────────────

  listProjects(): Promise<{ projects: Project[] }> {
    return this.json('GET', '/v1/projects');
  }
  createProject(name: string): Promise<Project> {
    return this.json('POST', '/v1/projects', { json: { name } });
  }
  getCredentials(project: string): Promise<CredentialsSummary> {
    return this.json('GET', `/v1/projects/${encodeURIComponent(project)}/credentials`);
  }
  /** Stores (merges per platform) the project's signing credentials, encrypted at rest. */
  putCredentials(project: string, bundle: CredentialsBundle): Promise<CredentialsSummary> {
    return this.json('PUT', `/v1/projects/${encodeURIComponent(project)}/credentials`, { json: bundle });
  }
  deleteCredentials(project: string, platform: Platform): Promise<CredentialsSummary> {
    return this.json('DELETE', `/v1/projects/${encodeURIComponent(project)}/credentials/${platform}`);
  }
  /** The project's stored build version (remote app versions); buildVersion null when none yet. */
  getAppVersion(project: string, platform: 'android' | 'ios'): Promise<AppVersion> {
    return this.json('GET', `/v1/projects/${encodeURIComponent(project)}/app-versions/${platform}`);
  }
  setAppVersion(project: string, platform: 'android' | 'ios', buildVersion: number): Promise<AppVersion> {
    return this.json('PUT', `/v1/projects/${encodeURIComponent(project)}/app-versions/${platform}`, { json: { buildVersion } });
  }
  listSecrets(project: string): Promise<{ secrets: SecretInfo[] }> {
    return this.json('GET', `/v1/projects/${encodeURIComponent(project)}/secrets`);
  }
  /** A string secret, or with `type: 'file'` a file secret whose `value` is the file's content in base64. */
  /** With `environment`, the secret is given only to builds whose profile has that EAS environment. */
  setSecret(project: string, name: string, value: string, type: 'string' | 'file' = 'string', environment?: string): Promise<SecretInfo> {
    return this.json('PUT', `/v1/projects/${encodeURIComponent(project)}/secrets/${encodeURIComponent(name)}${scopeQuery(environment)}`, {
      json: type === 'file' ? { value, type } : { value },
    });
  }
  deleteSecret(project: string, name: string, environment?: string): Promise<{ ok: true }> {
    return this.json('DELETE', `/v1/projects/${encodeURIComponent(project)}/secrets/${encodeURIComponent(name)}${scopeQuery(environment)}`);
  }

  // ── builds ──────────────────────────────────────────────────────────────────

  /**
   * Streams the source (a tar.gz) up with the spec; the controller acknowledges once both are stored.
   * With `idempotencyKey`, a repeat of the same submit (after a lost response) returns the first build.
   */
  async createBuild(
    spec: CreateBuildSpec,
    source: AsyncIterable<Uint8Array>,
    options: { credentials?: CredentialsBundle; signal?: AbortSignal; idempotencyKey?: string } = {},
  ): Promise<Build> {
    // Loaded on use: the multipart encoder needs node:crypto and node:stream, which a browser has not.
    const { encodeMultipart } = await import('./multipart.js');
    const { body, contentType } = encodeMultipart([
      { name: 'spec', json: spec },
      ...(options.credentials ? [{ name: 'credentials', json: options.credentials }] : []),
      { name: 'source', filename: 'source.tar.gz', contentType: 'application/gzip', stream: source },
    ]);
    return this.json('POST', '/v1/builds', {
      body,
      headers: { 'content-type': contentType, ...(options.idempotencyKey ? { [IDEMPOTENCY_KEY_HEADER]: options.idempotencyKey } : {}) },
      signal: options.signal,
      timeoutMs: null,
    });
  }
  /** Of these blobs, the ones the caller's org already has (content-addressed uploads). */
  blobPresence(blobs: BlobRef[]): Promise<BlobPresence> {
    return this.json('POST', '/v1/blobs/presence', { json: { blobs } });
  }
  /** Uploads one blob as a raw body; the controller refuses it unless the bytes match `sha256` and `size`. */
  uploadBlob(blob: BlobRef, stream: AsyncIterable<Uint8Array>, options: { signal?: AbortSignal } = {}): Promise<BlobRef> {
    return this.json('PUT', `/v1/blobs/${blob.sha256}`, {
      body: stream,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
      signal: options.signal,
      timeoutMs: null,
    });
  }
  /** How to send a blob: straight to the object store through a presigned URL, or through the controller. */
  startBlobUpload(blob: BlobRef): Promise<BlobUploadTicket> {
    return this.json('POST', '/v1/blobs/uploads', { json: blob });
  }
  /**
   * After a direct upload: the controller verifies the bytes (size and sha256) and records the blob.
   * Given the blob's size, the wait allows for the controller reading the whole object back.
   */
  completeBlobUpload(uploadId: string, size?: number): Promise<BlobRef> {
    return this.json('POST', '/v1/blobs/uploads/complete', { json: { uploadId }, ...(size === undefined ? {} : { timeoutMs: verificationTimeoutMs(size) }) });
  }
  /**
   * Sends one blob the way the controller says: straight to the object store (presigned PUT, then the
   * controller's check) or as a raw body to the controller. `open` is called once for the bytes.
   */
  async sendBlob(blob: BlobRef, open: () => AsyncIterable<Uint8Array>, options: { signal?: AbortSignal } = {}): Promise<BlobRef> {
    const ticket = await this.startBlobUpload(blob);
    if (ticket.mode === 'proxy') return this.uploadBlob(blob, open(), options);
    await this.putToObjectStore(ticket.url, blob.size, open(), options.signal);
    return this.completeBlobUpload(ticket.uploadId, blob.size);
  }
  /** A presigned PUT: exactly `size` bytes, no credentials of ours (the URL carries its own signature). */
  private async putToObjectStore(url: string, size: number, source: AsyncIterable<Uint8Array>, callerSignal?: AbortSignal): Promise<void> {
    const headers = { 'content-length': String(size) };
    const { body, signal, stalled } = watchUpload(source, this.uploadIdleTimeoutMs, callerSignal);
    let status: number;
    try {
      if (defaultTransport) status = (await defaultTransport.send({ method: 'PUT', url, headers, body, signal })).status;
      else {
        const response = await fetch(url, { method: 'PUT', headers, body: body as unknown as RequestInit['body'], duplex: 'half', signal } as RequestInit);
        await response.body?.cancel();
        status = response.status;
      }
    } catch (err) {
      if (callerSignal?.aborted) throw err;
      if (stalled.aborted) throw stalled.reason;
      throw new NetworkError(`cannot reach the object store: ${(err as Error).cause ?? (err as Error).message}`, err);
    }
    if (status < 200 || status >= 300) throw new NetworkError(`the object store refused the upload (HTTP ${status})`);
  }
  /**
   * Creates a build whose source is a blob the org has uploaded (a small JSON request). With `idempotencyKey`,
   * a repeat of the same submit returns the first build.
   */
  createBuildFromBlob(request: CreateBuildRequest, options: { idempotencyKey?: string; signal?: AbortSignal } = {}): Promise<Build> {
    return this.json('POST', '/v1/builds', {
      json: request,
      headers: options.idempotencyKey ? { [IDEMPOTENCY_KEY_HEADER]: options.idempotencyKey } : {},
      signal: options.signal,
    });
  }
  listBuilds(query: ListBuildsQuery = {}): Promise<BuildList> {
    return this.json('GET', '/v1/builds', { query: query as Query });
  }
  /**
   * The builds list, live (SSE): yields the page `listBuilds(query)` answers, then the page again each
   * time it changes. Reconnects with the shared backoff when the stream drops; ends only when `signal` aborts.
   */
  async *followBuilds(query: ListBuildsQuery = {}, options: { signal?: AbortSignal } = {}): AsyncGenerator<BuildList> {
    let failures = 0;
    for (;;) {
      try {
        const response = await this.raw('GET', '/v1/builds/events', { query: query as Query, headers: { accept: 'text/event-stream' }, signal: options.signal, timeoutMs: null });
        failures = 0;
        for await (const event of readSse(response.body!)) if (event.event === 'builds') yield JSON.parse(event.data) as BuildList;
      } catch (err) {
        if (options.signal?.aborted || (err instanceof ApiError && err.status < 500)) throw err;
      }
      failures++;
      await sleep(backoffDelay(failures), options.signal);
      if (options.signal?.aborted) return;
    }
  }
  getBuild(id: string): Promise<Build> {
    return this.json('GET', `/v1/builds/${encodeURIComponent(id)}`);
  }
  cancelBuild(id: string): Promise<Build> {
    return this.json('POST', `/v1/builds/${encodeURIComponent(id)}/cancel`);
  }
  retryBuild(id: string): Promise<Build> {
    return this.json('POST', `/v1/builds/${encodeURIComponent(id)}/retry`);
  }
  readLogs(
    id: string,
    query: { cursor?: string; limit?: number; maxBytes?: number; tail?: number; attempt?: number } = {},
    options: { signal?: AbortSignal } = {},
  ): Promise<LogPage> {
    return this.json('GET', `/v1/builds/${encodeURIComponent(id)}/logs`, { query, signal: options.signal });
  }

  /**
   * Follows a build's log live (SSE) until the build ends. Yields lines in order,
   * each once; on a dropped connection or a controller restart it reconnects from
   * the last cursor seen, with the shared backoff (retry.ts), telling `onRetry`
   * each time and `onRecovered` once the stream is back.
   */
  async *followLogs(
    id: string,
    options: { cursor?: string; attempt?: number; signal?: AbortSignal; onStatus?: (s: BuildStatus) => void } & Pick<RetryOptions, 'onRetry' | 'onRecovered'> = {},
  ): AsyncGenerator<LogEntry, BuildStatus> {
    let cursor = options.cursor;
    let failures = 0;
    for (;;) {
      let failure: unknown = new NetworkError('the log stream ended before the build did');
      try {
        const response = await this.raw('GET', `/v1/builds/${encodeURIComponent(id)}/logs`, {
          query: { follow: true, attempt: options.attempt },
          headers: { accept: 'text/event-stream', ...(cursor ? { 'last-event-id': cursor } : {}) },
          signal: options.signal,
          timeoutMs: null,
        });
        if (failures > 0) options.onRecovered?.(failures);
        failures = 0;
        for await (const event of readSse(response.body!)) {
          if (event.event === 'lines') {
            const { entries } = JSON.parse(event.data) as { entries: LogEntry[] };
            for (const entry of entries) yield entry;
            if (event.id) cursor = event.id;
          } else if (event.event === 'status') {
            options.onStatus?.((JSON.parse(event.data) as { status: BuildStatus }).status);
          } else if (event.event === 'end') {
            return (JSON.parse(event.data) as { status: BuildStatus }).status;
          }
        }
      } catch (err) {
        if (options.signal?.aborted || (err instanceof ApiError && err.status < 500 && err.code !== 'BODY_TIMEOUT')) throw err;
        failure = err;
      }
      // The stream ended without `end` (controller restarted or network dropped): resume from the cursor.
      failures++;
      const delayMs = backoffDelay(failures);
      options.onRetry?.(failure, failures, delayMs);
      await sleep(delayMs, options.signal);
      if (options.signal?.aborted) throw failure;
    }
  }

  listArtifacts(id: string): Promise<ArtifactList> {
    return this.json('GET', `/v1/builds/${encodeURIComponent(id)}/artifacts`);
  }
  /** The file, as it streams (see `streamed`); headers carry content-length and the sha256, `range` gives a 206. */
  downloadArtifact(buildId: string, artifactId: string, options: { range?: string; signal?: AbortSignal } = {}): Promise<StreamedAnswer> {
    return this.streamed(`/v1/builds/${encodeURIComponent(buildId)}/artifacts/${encodeURIComponent(artifactId)}`, {
      headers: options.range ? { range: options.range } : {},
      signal: options.signal,
      timeoutMs: null,
    });
  }

  /** A link that downloads the artifact without credentials until it expires (for a phone: the install page's QR code). */
  installLink(buildId: string, artifactId: string): Promise<InstallLink> {
    return this.json('GET', `/v1/builds/${encodeURIComponent(buildId)}/artifacts/${encodeURIComponent(artifactId)}/install-link`);
  }

  listWorkers(): Promise<{ workers: WorkerInfo[] }> {
    return this.json('GET', '/v1/workers');
  }
  removeWorker(id: string): Promise<{ ok: true }> {
    return this.json('DELETE', `/v1/workers/${encodeURIComponent(id)}`);
  }

  // ── worker protocol (token = enrollment token for enroll, else the worker credential) ──

  enroll(capabilities: Capabilities): Promise<EnrollResponse> {
    return this.json('POST', '/v1/workers/enroll', { json: capabilities });
  }
  hello(capabilities: Capabilities): Promise<HelloResponse> {
    return this.json('PUT', '/v1/worker', { json: capabilities });
  }
  /** Long-poll: resolves with a job the moment one matches, or null after waitMs. */
  async claim(waitMs: number, signal?: AbortSignal): Promise<BuildJob | null> {
    const job = await this.json<BuildJob | undefined>('POST', '/v1/worker/claim', {
      json: { waitMs },
      signal,
      timeoutMs: waitMs + 15_000,
    });
    return job ?? null;
  }
  heartbeat(attemptId: string): Promise<HeartbeatResponse> {
    return this.json('POST', `/v1/attempts/${attemptId}/heartbeat`, { json: {} });
  }
  /** The build's source tar.gz, as it streams (see `streamed`). */
  source(attemptId: string, signal?: AbortSignal): Promise<StreamedAnswer> {
    return this.streamed(`/v1/attempts/${attemptId}/source`, { signal, timeoutMs: null });
  }
  attemptSecrets(attemptId: string): Promise<AttemptSecrets> {
    return this.json('GET', `/v1/attempts/${attemptId}/secrets`);
  }
  sendLogs(attemptId: string, batch: LogBatch): Promise<LogBatchAck> {
    return this.json('POST', `/v1/attempts/${attemptId}/logs`, { json: batch });
  }
  /**
   * Uploads one artifact: straight to the object store when the controller hands out a presigned URL
   * (then the controller verifies it and records the artifact), else as a raw body to the controller.
   */
  async uploadArtifact(
    attemptId: string,
    file: { name: string; kind: ArtifactKind; size: number; sha256: string; stream: Readable; app?: IosAppInfo },
    signal?: AbortSignal,
  ): Promise<Artifact> {
    const base = `/v1/attempts/${attemptId}/artifacts/${encodeURIComponent(file.name)}`;
    const ticket = await this.json<BlobUploadTicket>('POST', `${base}/uploads`, { json: { sha256: file.sha256, size: file.size }, signal });
    if (ticket.mode === 'direct') {
      await this.putToObjectStore(ticket.url, file.size, file.stream, signal);
      return this.json('POST', `${base}/uploads/complete`, {
        json: { uploadId: ticket.uploadId, kind: file.kind, ...(file.app ? { app: file.app } : {}) },
        signal,
        timeoutMs: verificationTimeoutMs(file.size),
      });
    }
    return this.json('PUT', base, {
      // An .ipa's IosAppInfo travels flat in the query (UploadArtifactQuery).
      query: { kind: file.kind, ...(file.app ? { appBundleId: file.app.bundleId, appVersion: file.app.version, appBuild: file.app.build, appTitle: file.app.title } : {}) },
      body: file.stream,
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(file.size),
        [SHA256_HEADER]: file.sha256,
      },
      signal,
      timeoutMs: null,
    });
  }
  finish(attemptId: string, request: FinishRequest): Promise<FinishResponse> {
    return this.json('POST', `/v1/attempts/${attemptId}/finish`, { json: request });
  }
}

function apiErrorFrom(status: number, text: string, statusText = ''): ApiError {
  let body: Partial<ApiErrorBody> | undefined;
  try {
    body = JSON.parse(text) as Partial<ApiErrorBody>;
  } catch {
    body = undefined;
  }
  const code = body?.error?.code;
  if (isApiErrorCode(code)) return new ApiError(code, body?.error?.message);
  const fallback = status >= 500 ? 'INTERNAL' : status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST';
  return new ApiError(fallback, `HTTP ${status}${statusText ? ` ${statusText}` : ''}`);
}
