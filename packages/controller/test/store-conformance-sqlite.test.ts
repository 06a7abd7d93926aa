import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { openSqliteStore } from '../src/store/sqlite.js';
import { runStoreConformance } from './store/conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'buildmesh-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
runStoreConformance('sqlite', () => openSqliteStore(join(dir, 'controller.db')));
