/**
 * Route × tenant × role matrix, over every route the controller's OpenAPI document lists (a new
 * route is covered without editing this file). Each route gets a well-formed request naming alpha's
 * resources, sent with beta's admin, member and read-only tokens and beta's worker credential:
 * - a route naming a resource (an id, a project) answers 401, 403 or 404 — never alpha's data;
 * - a route naming none (lists, creation, the worker's own routes) answers < 500 and mentions
 *   nothing of alpha's (ids, names, secret values, log text);
 * - alpha's rows are byte-for-byte what they were before (a snapshot of the store).
 * A control run with alpha's own credentials proves the ids are live (2xx on every targeted GET).
 */
import { test } from 'node:test';
import { runTenantMatrix } from './helpers/tenant-matrix.js';
import { buildWorld } from './helpers/world.js';

test('another org’s admin, member, read-only and worker credentials reach nothing of this org', { timeout: 120_000 }, async () => {
  await runTenantMatrix(await buildWorld());
});
