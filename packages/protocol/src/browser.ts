/**
 * What a browser may load of the protocol (the dashboard's entry): the typed client and the
 * wire types, without the node-only modules (the multipart encoder, which the
 * client loads only when it submits a build).
 */
export * from './errors.js';
export * from './client.js';
export * from './retry.js';
export * from './sse.js';
export { isTerminal, TERMINAL_BUILD_STATUSES, type Build, type BuildList, type BuildStatus, type Attempt, type QueueInfo, type ListBuildsQuery } from './builds.js';
export type { Artifact, ArtifactList, InstallLink, IosAppInfo } from './artifacts.js';
export type { ArtifactProvenance } from './provenance.js';
export type { LogBatchPage, LogEntry, LogLine, LogPage, PhaseResult } from './logs.js';
export type { WorkerInfo } from './workers.js';
export type { TokenInfo, EnrollmentTokenInfo, CreatedToken, CreatedEnrollmentToken, Project, WhoAmI, Org } from './tenancy.js';
export type { SecretInfo, CredentialsSummary } from './credentials.js';
export type { Platform, Role } from './common.js';
export { SESSION_COOKIE, CSRF_HEADER, type Session } from './sessions.js';
