/**
 * `node --import tsx packages/controller/src/main.ts [--port N] [--host H] [--data-dir D]`
 * Flags override BUILDMESH_* variables, which override the defaults. Prints the
 * URL, and on first start the generated instance admin token (once). SIGTERM or
 * SIGINT stops it gracefully; a second signal stops it at once.
 */
import { parseArgs } from 'node:util';
import { ConfigError, CONTROLLER_SETTINGS, startController, type ControllerOptions } from './index.js';

function usage(): string {
  const rows = CONTROLLER_SETTINGS.map((s) => `  ${s.env.padEnd(34)} ${(s.default || '-').padEnd(14)} ${s.description}`);
  return ['usage: main.ts [--port N] [--host ADDRESS] [--data-dir DIR]', '', 'environment:', ...rows].join('\n');
}

async function main(): Promise<void> {
  let flags: { port?: string; host?: string; 'data-dir'?: string; help?: boolean };
  try {
    flags = parseArgs({
      options: { port: { type: 'string' }, host: { type: 'string' }, 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${usage()}`);
    process.exit(2);
  }
  if (flags.help) {
    console.log(usage());
    return;
  }
  const options: Partial<ControllerOptions> = {};
  if (flags.port !== undefined) {
    if (!/^\d{1,5}$/.test(flags.port)) {
      console.error(`--port: must be a port number (got ${JSON.stringify(flags.port)})`);
      process.exit(2);
    }
    options.port = Number(flags.port);
  }
  if (flags.host !== undefined) options.host = flags.host;
  if (flags['data-dir'] !== undefined) options.dataDir = flags['data-dir'];

  let controller;
  try {
    controller = await startController(options);
  } catch (err) {
    console.error(`buildmesh controller: ${err instanceof ConfigError ? err.message : (err as Error).stack ?? String(err)}`);
    process.exit(1);
  }
  console.log(`BuildMesh controller listening on ${controller.url}`);
  console.log(`data dir: ${controller.options.dataDir}`);
  if (controller.generatedAdminToken) {
    console.log('');
    console.log('Instance admin token (shown only this once; store it now):');
    console.log(`  ${controller.generatedAdminToken}`);
    console.log('');
  }

  let signals = 0;
  const stop = (signal: NodeJS.Signals): void => {
    if (++signals > 1) process.exit(1);
    console.log(`${signal}: shutting down`);
    controller.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('shutdown failed:', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
