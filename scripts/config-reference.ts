/**
 * Prints the configuration reference (every setting, its variable, flag and
 * default) as Markdown, from the same tables the code reads, for README.md.
 * `npx tsx scripts/config-reference.ts`
 */
import { CONTROLLER_SETTINGS } from '../packages/controller/src/config.js';
import { WORKER_OPTIONS } from '../packages/worker/src/config.js';

const flagOf = (name: string) => '--' + name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const CONTROLLER_FLAGS = new Set(['port', 'host', 'dataDir']);
const cell = (s: string) => s.replace(/\|/g, '\\|');

console.log('#### Controller (`buildmesh controller`, `buildmesh up`)\n');
console.log('| variable | flag | default | meaning |\n|---|---|---|---|');
for (const s of CONTROLLER_SETTINGS) {
  console.log(`| \`${s.env}\` | ${CONTROLLER_FLAGS.has(s.name) ? `\`${flagOf(s.name)}\`` : ''} | ${s.default ? `\`${s.default}\`` : '—'} | ${cell(s.description)} |`);
}
console.log('\n#### Worker (`buildmesh worker`)\n');
console.log('| variable | flag | default | meaning |\n|---|---|---|---|');
for (const o of WORKER_OPTIONS) console.log(`| \`${o.env}\` | \`${o.flag}\` | ${cell(o.default)} | ${cell(o.description)} |`);
