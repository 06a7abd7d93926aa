/**
 * Shared setup of the lost-wake-up tests: a web worker enrolled on one replica parks a
 * claim there, then that replica's LISTEN connection (found by application_name in this
 * set's own database: the cluster is shared with other test files) is cut.
 */
import assert from 'node:assert/strict';
import pg from 'pg';
import { BuildMeshClient, type BuildJob } from '@buildmesh/protocol';
import type { Replica, ReplicaSet } from './replicas.js';
import { waitFor } from './wait.js';

type T = { after(fn: () => void | Promise<void>): void };

export interface CutListener {
  /** The claim parked on the replica before its LISTEN connection was cut. */
  parked: Promise<BuildJob | null>;
  /** Resolves once the replica listens again. */
  listeningAgain(): Promise<void>;
}

export async function parkClaimAndCutListener(t: T, set: ReplicaSet, replica: Replica): Promise<CutListener> {
  const enrollment = await set.admin.createEnrollmentToken('lost');
  const enrolled = await new BuildMeshClient({ url: replica.url, token: enrollment.secret }).enroll({ name: 'on-b', platforms: ['web'], labels: {}, concurrency: 1, version: 'test' });
  const worker = new BuildMeshClient({ url: replica.url, token: enrolled.credential, timeoutMs: 40_000 });

  const admin = new pg.Client({ connectionString: set.database.url });
  admin.on('error', () => undefined); // the database is dropped (with its connections) after the test
  await admin.connect();
  t.after(() => admin.end());
  const listener = `buildmesh ${replica.id} listen`;
  const ofListener = 'from pg_stat_activity where application_name = $1 and datname = current_database()';
  const listening = (): Promise<boolean> => admin.query(`select 1 ${ofListener}`, [listener]).then((r) => r.rowCount === 1);
  await waitFor(listening, { what: `${replica.id}'s LISTEN connection` });

  const parked = worker.claim(20_000);
  await new Promise((r) => setTimeout(r, 200)); // let the long-poll park
  const cut = await admin.query(`select pg_terminate_backend(pid) ${ofListener}`, [listener]);
  assert.equal(cut.rowCount, 1, `${replica.id}'s LISTEN connection was cut`);
  return { parked, listeningAgain: () => waitFor(listening, { what: `${replica.id} to listen again` }).then(() => undefined) };
}
