export * from './errors.js';
export * from './common.js';
export * from './env-names.js';
export * from './profiles.js';
export * from './app-versions.js';
export * from './credentials.js';
export * from './builds.js';
export * from './artifacts.js';
export * from './blobs.js';
export * from './logs.js';
export * from './workers.js';
export * from './tenancy.js';
export * from './sessions.js';
export * from './webhooks.js';
export * from './audit.js';
export * from './stats.js';
export * from './trust.js';
export * from './provenance.js';
export * from './client.js';
export * from './retry.js';
export * from './multipart.js';
export * from './sse.js';
export * from './durable-writer.js';

// Node: the client's JSON calls and downloads go through undici's request (browser.ts does not load this).
import { setDefaultJsonTransport, setDefaultStreamTransport } from './client.js';
import { undiciJsonTransport, undiciStreamTransport } from './node-transport.js';
setDefaultJsonTransport(undiciJsonTransport);
setDefaultStreamTransport(undiciStreamTransport);
