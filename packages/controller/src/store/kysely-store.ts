/**
 * The Store on Kysely: each method is one query module, so SQLite and PostgreSQL
 * share every line of SQL and differ only in how the connection is opened.
 */
import { ApiError, type Capabilities, type Platform, type TrustRule, type WorkerPool } from '@buildmesh/protocol';
import { sql, type Kysely } from 'kysely';
import { migrate, migrationStatus } from './migrate.js';
import type { Database } from './schema.js';
import type { FinishOutcome, NewBuild, Store } from './store.js';
import { GroupCommit } from './group-commit.js';
import type { Db } from './rows.js';
import * as addArtifact from './queries/add-artifact.js';
import * as appendLogs from './queries/append-logs.js';
import * as appVersions from './queries/app-versions.js';
import * as logBatchBytes from './queries/log-batch-bytes.js';
import * as artifacts from './queries/artifacts.js';
import * as attempts from './queries/attempt-for-worker.js';
import * as cancelBuild from './queries/cancel-build.js';
import * as claim from './queries/claim.js';
import * as createBuild from './queries/create-build.js';
import * as credentials from './queries/credentials.js';
import * as enrollment from './queries/enrollment-tokens.js';
import * as expire from './queries/expire.js';
import * as orgBlobs from './queries/org-blobs.js';
import * as finishAttempt from './queries/finish-attempt.js';
import * as getBuild from './queries/get-build.js';
import * as heartbeat from './queries/heartbeat.js';
import * as keyCheck from './queries/key-check.js';
import * as queuedHints from './queries/queued-hints.js';
import * as listBuilds from './queries/list-builds.js';
import * as orgs from './queries/orgs.js';
import * as projects from './queries/projects.js';
import * as queueInfo from './queries/queue-info.js';
import * as readLogs from './queries/read-logs.js';
import * as releaseClaim from './queries/release-claim.js';
import * as secrets from './queries/secrets.js';
import * as sessions from './queries/sessions.js';
import * as stats from './queries/stats.js';
import * as sweep from './queries/sweep.js';
import { sweepQueueLanes } from './queries/sweep-queue-lanes.js';
import * as tokens from './queries/tokens.js';
import * as workers from './queries/workers.js';
import * as webhooks from './queries/webhooks.js';
import * as trustRules from './queries/trust-rules.js';
import * as provenance from './queries/provenance.js';
import * as presence from './queries/worker-presence.js';
import * as audit from './queries/audit.js';
import * as buildStats from './queries/build-stats.js';
import * as reseal_ from './queries/reseal.js';
import { NO_LIMITS, type OrgLimits } from './queries/fair-share.js';
import * as deliveries from './queries/webhook-deliveries.js';
import type { DeliveryClaim } from './queries/webhook-deliveries.js';

/** last_used_at / last_seen_at are written at most this often per row: the hot path stays read-only. */
const TOUCH_EVERY_MS = 15_000;

export class KyselyStore implements Store {
  private readonly touched = new Map<string, number>();
  private outboxListener: () => void = () => undefined;
  private limits: OrgLimits = NO_LIMITS;
  /** After a commit that may have written webhook deliveries. */
  private readonly outbox = <T>(result: T): T => {
    this.outboxListener();
    return result;
  };

  /** SQLite: the queue's writes (submit, claim, finish) share commits (group-commit.ts). */
  private readonly group: GroupCommit | undefined;

  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: 'sqlite' | 'postgres',
  ) {
    this.group = dialect === 'sqlite' ? new GroupCommit(db) : undefined;
  }

  /** A write the group commit may batch (SQLite), else on its own. */
  private write<T>(work: (db: Db) => Promise<T>): Promise<T> {
    return this.group ? this.group.run(work) : work(this.db);
  }

  migrate = () => migrate(this.db as Kysely<unknown>, this.dialect);
  close = () => this.db.destroy();
  ping = async () => {
    await sql`select 1`.execute(this.db);
  };
  migrationStatus = () => migrationStatus(this.db as Kysely<unknown>);

  getKeyCheck = () => keyCheck.getKeyCheck(this.db);
  putKeyCheck = (sealed: Buffer) => keyCheck.putKeyCheck(this.db, sealed);
  anySealedValue = () => keyCheck.anySealedValue(this.db);

  private throttled(id: string): boolean {
    const now = Date.now();
    const last = this.touched.get(id);
    if (last !== undefined && now - last < TOUCH_EVERY_MS) return true;
    if (this.touched.size > 100_000) this.touched.clear();
    this.touched.set(id, now);
    return false;
  }

  createOrg = (org: { id: string; name: string }) => orgs.createOrg(this.db, org);
  getOrg = (id: string) => orgs.getOrg(this.db, id);
  getOrgByName = (name: string) => orgs.getOrgByName(this.db, name);
  listOrgs = () => orgs.listOrgs(this.db);

  insertToken = (t: Parameters<Store['insertToken']>[0]) => tokens.insertToken(this.db, t);
  listProvenanceKeys = () => provenance.listProvenanceKeys(this.db);
  addProvenanceKey = (key: Parameters<Store['addProvenanceKey']>[0], retireOthers: boolean) => provenance.addProvenanceKey(this.db, key, retireOthers);
  getProvenance = (orgId: string, artifactId: string) => provenance.getProvenance(this.db, orgId, artifactId);
  putProvenance = (p: Parameters<Store['putProvenance']>[0]) => provenance.putProvenance(this.db, p);
  listTrustRules = (orgId: string) => trustRules.listTrustRules(this.db, orgId);
  orgTrustRulesForIssuer = (org: string, issuer: string) => trustRules.orgTrustRulesForIssuer(this.db, org, issuer);
  insertTrustRule = (rule: TrustRule) => trustRules.insertTrustRule(this.db, rule);
  deleteTrustRule = (orgId: string, id: string) => trustRules.deleteTrustRule(this.db, orgId, id);
  findToken = (id: string) => tokens.findToken(this.db, id);
  touchToken = async (id: string) => {
    if (!this.throttled(id)) await tokens.touchToken(this.db, id);
  };
  listTokens = (orgId: string, includeInstanceAdmin: boolean) => tokens.listTokens(this.db, orgId, includeInstanceAdmin);
  revokeToken = (orgId: string, id: string, includeInstanceAdmin: boolean) => tokens.revokeToken(this.db, orgId, id, includeInstanceAdmin);
  countInstanceAdminTokens = () => tokens.countInstanceAdminTokens(this.db);
  insertSession = (s: { id: string; tokenId: string; secretHash: Buffer; expiresAt: string }) => sessions.insertSession(this.db, s);
  findSession = (id: string) => sessions.findSession(this.db, id);
  revokeSession = (id: string) => sessions.revokeSession(this.db, id);
  replaceInstanceAdminToken = (t: { id: string; orgId: string; name: string; secretHash: Buffer }) =>
    this.db.transaction().execute((trx) => tokens.replaceInstanceAdminToken(trx, t));

  insertEnrollmentToken = (t: { id: string; orgId: string | null; name: string; pool: WorkerPool; secretHash: Buffer }) =>
    enrollment.insertEnrollmentToken(this.db, t);
  findEnrollmentToken = (id: string) => enrollment.findEnrollmentToken(this.db, id);
  listEnrollmentTokens = (orgId: string, includeShared: boolean) => enrollment.listEnrollmentTokens(this.db, orgId, includeShared);
  revokeEnrollmentToken = (orgId: string, id: string, includeShared: boolean, andWorkers = false) =>
    this.db.transaction().execute(async (trx) => {
      const enrollmentToken = await enrollment.revokeEnrollmentToken(trx, orgId, id, includeShared);
      if (!enrollmentToken) return undefined;
      return { enrollmentToken, revokedWorkers: andWorkers ? await workers.revokeWorkersEnrolledBy(trx, id) : [] };
    });

  ensureProject = (orgId: string, id: string, name: string) => projects.ensureProject(this.db, orgId, id, name);
  createProject = (orgId: string, id: string, name: string) => projects.createProject(this.db, orgId, id, name);
  getAppVersion = (orgId: string, projectId: string, platform: 'android' | 'ios') => appVersions.getAppVersion(this.db, orgId, projectId, platform);
  setAppVersion = (orgId: string, projectId: string, platform: 'android' | 'ios', v: number) => appVersions.setAppVersion(this.db, orgId, projectId, platform, v);
  nextAppVersion = (orgId: string, projectId: string, platform: 'android' | 'ios') => appVersions.nextAppVersion(this.db, orgId, projectId, platform);
  getProjectByName = (orgId: string, name: string) => projects.getProjectByName(this.db, orgId, name);
  listProjects = (orgId: string) => projects.listProjects(this.db, orgId);
  putProjectCredentials = (orgId: string, projectId: string, platform: 'android' | 'ios', sealed: Buffer, summary: unknown) =>
    credentials.putProjectCredentials(this.db, orgId, projectId, platform, sealed, summary);
  deleteProjectCredentials = (orgId: string, projectId: string, platform: Platform) => credentials.deleteProjectCredentials(this.db, orgId, projectId, platform);
  getProjectCredentials = (orgId: string, projectId: string) => credentials.getProjectCredentials(this.db, orgId, projectId);
  putSecret = (orgId: string, projectId: string, name: string, sealed: Buffer, environment?: string) => secrets.putSecret(this.db, orgId, projectId, name, sealed, environment);
  deleteSecret = (orgId: string, projectId: string, name: string, environment?: string) => secrets.deleteSecret(this.db, orgId, projectId, name, environment);
  listSecrets = (orgId: string, projectId: string) => secrets.listSecrets(this.db, orgId, projectId);
  getSealedSecrets = (orgId: string, projectId: string, environment?: string) => secrets.getSealedSecrets(this.db, orgId, projectId, environment);

  insertWorker = (w: Parameters<Store['insertWorker']>[0]) => workers.insertWorker(this.db, w);
  findWorker = (id: string) => workers.findWorker(this.db, id);
  updateWorkerCapabilities = (id: string, c: Capabilities) => workers.updateWorkerCapabilities(this.db, id, c);
  touchWorker = async (id: string) => {
    if (this.throttled(id)) return;
    await workers.touchWorker(this.db, id);
    if ((await presence.markWorkerOnline(this.db, id)) > 0) this.outboxListener();
  };
  markWorkersOffline = (seenBefore: Date) => presence.markWorkersOffline(this.db, seenBefore.toISOString()).then((n) => (n > 0 ? this.outbox(n) : n));
  listWorkersForOrg = (orgId: string, onlineWithinMs: number) => workers.listWorkersForOrg(this.db, orgId, onlineWithinMs);
  revokeWorker = (orgId: string, id: string, includeShared: boolean) => workers.revokeWorker(this.db, orgId, id, includeShared);

  // The spec names the project whose id the caller resolved in the same org: no lookup on the submit path.
  createBuild = (b: NewBuild) => this.write((db) => createBuild.createBuild(db, b, b.spec.project, this.limits)).then(this.outbox);
  checkQueueRoom = (orgId: string, idempotencyKey: string | null) => createBuild.checkQueueRoom(this.db, orgId, idempotencyKey, this.limits);
  getBuild = (orgId: string, id: string, options?: { withAttempts?: boolean; withProfile?: boolean }) => getBuild.getBuild(this.db, orgId, id, options);
  listBuilds = (orgId: string, q: Parameters<Store['listBuilds']>[1]) => listBuilds.listBuilds(this.db, orgId, q);
  getBuildForRetry = (orgId: string, id: string) => getBuild.getBuildForRetry(this.db, orgId, id);
  cancelBuild = (orgId: string, id: string) => this.db.transaction().execute((trx) => cancelBuild.cancelBuild(trx, orgId, id)).then(this.outbox);
  claim = (c: Parameters<Store['claim']>[0]) => this.write((db) => claim.claim(db, this.dialect, c, this.limits)).then((job) => (job ? this.outbox(job) : job));
  setOrgLimits = (limits: OrgLimits) => {
    this.limits = limits;
  };
  releaseClaim = (workerId: string, attemptId: string) => releaseClaim.releaseClaim(this.db, workerId, attemptId);
  queueInfo = (orgId: string, id: string, onlineWithinMs: number) =>
    queueInfo.queueInfo(this.db, orgId, id, onlineWithinMs).then((q) => (q === undefined ? null : q));
  stats = (onlineWithinMs: number) => stats.stats(this.db, onlineWithinMs);

  getAttemptForWorker = (workerId: string, attemptId: string) => attempts.getAttemptForWorker(this.db, workerId, attemptId);
  heartbeat = (workerId: string, attemptId: string, leaseTtlMs: number) => heartbeat.heartbeat(this.db, workerId, attemptId, leaseTtlMs);
  appendLogs = (workerId: string, attemptId: string, seq: number, lines: Parameters<Store['appendLogs']>[3]) =>
    appendLogs.appendLogs(this.db, workerId, attemptId, seq, lines);
  addArtifact = (workerId: string, attemptId: string, a: Parameters<Store['addArtifact']>[2]) => addArtifact.addArtifact(this.db, workerId, attemptId, a);
  finishAttempt = async (
    workerId: string,
    attemptId: string,
    outcome: FinishOutcome,
    error: { code: string; message: string; phase?: string } | null,
    phases?: Parameters<Store['finishAttempt']>[4],
  ) => {
    const result = await this.write((db) => finishAttempt.finishAttempt(db, workerId, attemptId, outcome, error, phases)).then(this.outbox);
    // The attempt is ended either way (committed above); a result the build can no longer take is refused.
    if (result.refused) throw new ApiError('CONFLICT', result.refused);
    return { buildStatus: result.buildStatus, buildId: result.buildId };
  };

  logBatchIndex = (orgId: string, buildId: string, options: Parameters<Store['logBatchIndex']>[2]) => readLogs.logBatchIndex(this.db, orgId, buildId, options);
  logBatchLines = (orgId: string, buildId: string, options: Parameters<Store['logBatchLines']>[2]) => readLogs.logBatchLines(this.db, orgId, buildId, options);
  logBatchBytes = (orgId: string, buildId: string, options: Parameters<Store['logBatchBytes']>[2]) => logBatchBytes.logBatchBytes(this.db, this.dialect, orgId, buildId, options);
  listArtifacts = (orgId: string, buildId: string) => artifacts.listArtifacts(this.db, orgId, buildId);
  getArtifact = (orgId: string, buildId: string, artifactId: string) => artifacts.getArtifact(this.db, orgId, buildId, artifactId);

  sweep = (now: Date) => sweep.sweep(this.db, now).then((r) => (r.requeued.length + r.failed.length + r.timedOut.length > 0 ? this.outbox(r) : r));
  extendLiveLeases = (leaseTtlMs: number) => sweep.extendLiveLeases(this.db, leaseTtlMs);
  sweepQueueLanes = (now: Date) => sweepQueueLanes(this.db, now.getTime());
  expire = (cutoff: Date, limit: number) => expire.expire(this.db, cutoff, limit);
  blobReferenced = (sha256: string) => expire.blobReferenced(this.db, sha256);
  recordOrgBlob = (orgId: string, sha256: string, size: number) => orgBlobs.recordOrgBlob(this.db, orgId, sha256, size);
  orgBlobsKnown = (orgId: string, blobs: ReadonlyArray<{ sha256: string; size: number }>) => orgBlobs.orgBlobsKnown(this.db, orgId, blobs);
  queuedHints = (limit: number) => queuedHints.queuedHints(this.db, limit);
  recentDurations = (orgId: string, projectId: string, platform: Platform, limit: number) => queueInfo.recentDurations(this.db, orgId, projectId, platform, limit);

  insertWebhook = (w: Parameters<Store['insertWebhook']>[0]) => webhooks.insertWebhook(this.db, w);
  listWebhooks = (orgId: string) => webhooks.listWebhooks(this.db, orgId);
  getWebhook = (orgId: string, id: string) => webhooks.getWebhook(this.db, orgId, id);
  deleteWebhook = (orgId: string, id: string) => this.db.transaction().execute((trx) => webhooks.deleteWebhook(trx, orgId, id));
  anyWebhook = () => webhooks.anyWebhook(this.db);
  claimDueDeliveries = (claim: DeliveryClaim) => deliveries.claimDueDeliveries(this.db, claim);
  recordDeliveryAttempt = (id: string, result: Parameters<Store['recordDeliveryAttempt']>[1]) => deliveries.recordDeliveryAttempt(this.db, id, result);
  listDeliveries = (orgId: string, webhookId: string, limit: number) => deliveries.listDeliveries(this.db, orgId, webhookId, limit);
  getDelivery = (orgId: string, webhookId: string, id: string) => deliveries.getDelivery(this.db, orgId, webhookId, id);
  redeliver = (orgId: string, webhookId: string, id: string) => deliveries.redeliver(this.db, orgId, webhookId, id).then(this.outbox);
  enqueuePing = (orgId: string, webhookId: string) => deliveries.enqueuePing(this.db, orgId, webhookId).then(this.outbox);
  expireDeliveries = (cutoff: number, limit: number) => deliveries.expireDeliveries(this.db, cutoff, limit);
  deleteOrphanDeliveries = (limit: number) => deliveries.deleteOrphanDeliveries(this.db, limit);
  resealAll = (version: number, reseal: (sealed: Buffer) => Buffer) => reseal_.resealAll(this.db, version, reseal);
  durationBuckets = () => buildStats.durationBuckets(this.db);
  endedBuilds = (orgId: string, since: string, limit: number) => buildStats.endedBuilds(this.db, orgId, since, limit);
  appendAudit = (entry: Parameters<Store['appendAudit']>[0]) => audit.appendAudit(this.db, entry);
  appendAuditCapped = (entry: Parameters<Store['appendAuditCapped']>[0], cap: Parameters<Store['appendAuditCapped']>[1]) => audit.appendAuditCapped(this.db, entry, cap);
  listAudit = (orgId: string | null, q: Parameters<Store['listAudit']>[1]) => audit.listAudit(this.db, orgId, q);
  onOutbox = (listener: () => void) => {
    this.outboxListener = listener;
  };
}
