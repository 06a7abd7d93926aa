/**
 * Packs a project the way `buildmesh build` does, to /dev/null, in its own
 * process so its peak RSS is the packer's alone. Prints JSON: { ms, files, peakRssMb }.
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { listProjectFiles } from '../../packages/cli/src/pack/file-list.js';
import { packProject } from '../../packages/cli/src/pack/pack.js';

const dir = process.argv[2]!;
const t0 = performance.now();
const files = await listProjectFiles(dir);
await pipeline(packProject(dir, files, { maxBytes: 8 * 1024 ** 3 }), createWriteStream('/dev/null'));
const ms = performance.now() - t0;
console.log(JSON.stringify({ ms, files: files.length, peakRssMb: process.resourceUsage().maxRSS / 1024 }));
