/**
 * Packs a project the way `buildmesh build` does, to /dev/null, in its own
 * process so its peak RSS is the packer's alone. Prints JSON:
 * { listMs, ms, files, peakRssMb } — `ms` is packing the listed files (what
 * `tar czf -T list` does), `listMs` choosing them (git / ignore rules).
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { listProjectFiles } from '../../packages/cli/src/pack/file-list.js';
import { packProject } from '../../packages/cli/src/pack/pack.js';

const dir = process.argv[2]!;
const t0 = performance.now();
const files = await listProjectFiles(dir);
const t1 = performance.now();
await pipeline(packProject(dir, files, { maxBytes: 8 * 1024 ** 3 }), createWriteStream('/dev/null'));
const t2 = performance.now();
console.log(JSON.stringify({ listMs: t1 - t0, ms: t2 - t1, files: files.length, peakRssMb: process.resourceUsage().maxRSS / 1024 }));
