/**
 * A fresh PostgreSQL database per test file. The admin URL comes from
 * BUILDMESH_TEST_DATABASE_URL (default: the role and database `.ci/run` creates,
 * postgres://buildmesh:buildmesh@127.0.0.1:5432/buildmesh; the role needs
 * CREATEDB). Each test file gets `buildmesh_test_<random>` and drops it after.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { skipUnless } from './system-services.js';

export const TEST_ADMIN_URL = process.env.BUILDMESH_TEST_DATABASE_URL ?? 'postgres://buildmesh:buildmesh@127.0.0.1:5432/buildmesh';

async function probe(): Promise<string | null> {
  const client = new pg.Client({ connectionString: TEST_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const problem = await probe();
/** node:test `skip` value: a reason when PostgreSQL is unreachable outside CI, else false. */
export const pgSkip = skipUnless(
  problem === null,
  `PostgreSQL not reachable at ${TEST_ADMIN_URL.replace(/:[^:@/]*@/, ':***@')} (${problem}); start it with \`pg_ctlcluster 15 main start\` and create the role as .ci/run does`,
);

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** Creates an empty database; drop() ends its remaining connections and removes it. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `buildmesh_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: TEST_ADMIN_URL });
      await c.connect();
      try {
        // An autovacuum worker in the database (after heavy writes) cannot be terminated by a non-superuser
        // (42501): it finishes within moments, so the drop is tried again.
        for (let attempt = 1; ; attempt++) {
          try {
            await c.query(`drop database if exists ${name} with (force)`);
            break;
          } catch (err) {
            if ((err as { code?: string }).code !== '42501' || attempt >= 50) throw err;
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
        }
      } finally {
        await c.end();
      }
    },
  };
}
