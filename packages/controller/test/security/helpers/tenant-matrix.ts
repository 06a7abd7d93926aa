/**
 * The route × tenant × role matrix (run by foreign-credentials-reach-nothing*.test.ts, on SQLite and on
 * PostgreSQL), over every route the controller's OpenAPI document lists (a new
 * route is covered without editing this file). Each route gets a well-formed request naming alpha's
 * resources, sent with beta's admin, member and read-only tokens and beta's worker credential:
 * - a route naming a resource by id answers 401, 403 or 404 — never alpha's data;
 * - any other route (lists, creation, the worker's own routes, a project name, which is scoped to
 *   the caller's org) answers < 500 and mentions nothing of alpha's (ids, names, secret values, log text);
 * - alpha's rows are byte-for-byte what they were before (a snapshot of the store).
 * A control run with alpha's own credentials proves the names are live (2xx on every GET naming alpha's resources).
 */
import assert from 'node:assert/strict';
import { loadOperations } from './openapi.js';
import { discover, send, validRequest } from './requests.js';
import { snapshot, type World } from './world.js';

/** Runs the matrix against the world's controller and disposes of it. */
export async function runTenantMatrix(world: World): Promise<void> {
  const { controller } = world;
  try {
    const { operations, resolve } = await loadOperations(controller.url);
    assert.ok(operations.length >= 30, `the OpenAPI document lists the routes (${operations.length})`);
    const routes = await discover(world, operations);
    const foreign = {
      'foreign admin': world.beta.tokens.admin,
      'foreign member': world.beta.tokens.member,
      'foreign read-only': world.beta.tokens.reader,
      'foreign worker': world.betaWorker.credential,
    };

    // Control: alpha's own credentials read every targeted resource, so the 404s below are about tenancy.
    let controls = 0;
    for (const route of routes.filter((r) => r.named && r.ownedPath && r.op.method === 'GET' && r.credential)) {
      const r = await send(controller.port, { ...(await validRequest(route, resolve)), token: route.credential });
      // The world's build is still running, so its artifact has no provenance yet (409, from the live artifact).
      const notYet = route.op.path.endsWith('/provenance') && r.status === 409 && r.text.includes('provenance is issued once');
      assert.ok(r.status === 200 || r.status === 206 || notYet, `control ${route.op.method} ${route.op.path} with alpha's credential: ${r.text.slice(0, 300)}`);
      controls++;
    }

    const before = await snapshot(controller, world.ids.org);
    const failures: string[] = [];
    let cases = 0;
    const byStatus = new Map<number | undefined, number>();
    const spoken = new Set<string>();
    for (const route of routes) {
      const request = await validRequest(route, resolve);
      for (const [who, token] of Object.entries(foreign)) {
        cases++;
        const r = await send(controller.port, { ...request, token });
        byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
        const what = `${route.op.method} ${route.op.path} as ${who} → ${r.status}`;
        if (r.status === undefined || r.status >= 500) failures.push(`${what}: ${r.text.slice(0, 200)}`);
        else if (route.targeted && ![401, 403, 404].includes(r.status)) failures.push(`${what} (expected 401/403/404): ${r.text.slice(0, 200)}`);
        // An echo of what beta itself said, in this request or an earlier one (beta naming its own project
        // like alpha's, then reading its own audit log), is no leak.
        const sent = `${request.path} ${request.body?.toString('latin1') ?? ''}`;
        for (const m of world.alphaMarkers) if (sent.includes(m)) spoken.add(m);
        const leaked = world.alphaMarkers.filter((m) => r.text.includes(m) && !spoken.has(m));
        if (leaked.length) failures.push(`${what} leaks ${leaked.join(', ')}`);
        if ((await snapshot(controller, world.ids.org)) !== before) failures.push(`${what} changed alpha's rows`);
      }
    }
    assert.deepEqual(failures, [], failures.join('\n'));
    assert.ok(controller.alive(), 'the controller is still up');
    const targeted = routes.filter((r) => r.targeted).length;
    const unowned = routes.filter((r) => r.named && !r.ownedPath).map((r) => `${r.op.method} ${r.op.path}`);
    console.log(
      `security matrix: ${routes.length} routes (${targeted} naming a resource by id) × ${Object.keys(foreign).length} foreign credentials = ${cases} cases; ` +
        `${controls} control reads with the owner's credentials` +
        (unowned.length ? ` (no alpha resource to name for ${unowned.join(', ')})` : '') +
        `; answers ${[...byStatus].sort().map(([s, n]) => `${s}×${n}`).join(' ')}`,
    );
  } finally {
    await controller.dispose();
  }
}
