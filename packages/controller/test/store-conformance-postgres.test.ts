import { after } from 'node:test';
import { openPostgresStore } from '../src/store/postgres.js';
import { createTestDatabase, pgSkip, type TestDatabase } from '../../../test/helpers/postgres.js';
import { runStoreConformance } from './store/conformance.js';

let database: TestDatabase | undefined;
after(async () => database?.drop());
runStoreConformance(
  'postgres',
  async () => {
    database = await createTestDatabase();
    return openPostgresStore(database.url);
  },
  { skip: pgSkip },
);
