/**
 * The `buildmesh` program: commands come from commands/index.ts, loaded only when named; usage
 * errors in the same one-line format as every other error (`error USAGE: … — see buildmesh <cmd>
 * --help`, exit 2).
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { loadCommands } from './commands/index.js';
import { EXIT } from './exit-codes.js';
import { loadController, loadWorker, SERVER_COMMANDS } from './server-modules.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('buildmesh')
  .description('BuildMesh: build Expo apps on your own machines (controller, workers, builds)')
  .version(version, '-v, --version')
  .addHelpText(
    'after',
    `
Quick start (from the BuildMesh checkout):
  $ npx buildmesh up                                  # controller + local worker, prints a token
  $ npx buildmesh build /path/to/my-expo-app --platform web
Any other machine: install the CLI from the controller (it serves its own package):
  $ npm install -g http://controller:4650/cli/buildmesh.tgz

Examples:
  $ buildmesh login --url https://builds.example.com
  $ buildmesh build --platform android --profile preview
  $ buildmesh list --status failed
  $ buildmesh logs -f bld_01jb7x6k2m3n4p5q6r7s8t9v0w

Environment:
  BUILDMESH_URL, BUILDMESH_TOKEN   override the saved login (buildmesh login)
  XDG_CONFIG_HOME                  config lives in $XDG_CONFIG_HOME/buildmesh (default ~/.config/buildmesh)
  NO_COLOR                         plain output (also when stdout is not a terminal)

Every command takes --json (stable shapes, listed in each command's --help) and --help.
Exit status: 0 ok, 1 error or failed build, 2 usage error, 3 build canceled, 4 build timed out,
130 interrupted (a build keeps running).
`,
  );

for (const cmd of await loadCommands(process.argv.slice(2))) program.addCommand(cmd);

/** Commander's own errors (unknown option, missing argument…) in our one-line format, exit 2. */
function applyConventions(cmd: Command): void {
  const path: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) path.unshift(c.name());
  cmd.exitOverride();
  cmd.configureOutput({
    outputError: (text, write) => {
      const message = text.trim().replace(/^error:\s*/, '');
      write(`error USAGE: ${message} — see \`${path.join(' ')} --help\`\n`);
    },
  });
  for (const sub of cmd.commands) applyConventions(sub);
}
applyConventions(program);

// `buildmesh list | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

// The server commands' --help shows option tables their packages own: load them first (only for
// help: starting a controller must not pay for loading the worker, nor the other way round).
const argv = process.argv.slice(2);
const named = argv.find((arg) => !arg.startsWith('-'));
if (named && SERVER_COMMANDS.includes(named) && argv.some((arg) => arg === '--help' || arg === '-h')) {
  // Help without the tables when a server module is not installed (the npm package's optional peers).
  await Promise.all([named !== 'worker' ? loadController().catch(() => undefined) : undefined, named !== 'controller' ? loadWorker() : undefined]);
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version exit with commander's code (0, or 1 for help shown instead of an error).
    const informational = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help';
    process.exitCode = informational ? err.exitCode : EXIT.usage;
  } else {
    throw err;
  }
}
