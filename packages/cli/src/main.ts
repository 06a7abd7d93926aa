/**
 * The `buildmesh` program: every command registered once, usage errors in the same one-line
 * format as every other error (`error USAGE: … — see buildmesh <cmd> --help`, exit 2).
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { orgCommand } from './commands/admin/org.js';
import { tokenCommand } from './commands/admin/token.js';
import { enrollTokenCommand } from './commands/admin/enroll-token.js';
import { backupCommand, restoreCommand } from './commands/backup.js';
import { buildCommand } from './commands/build.js';
import { cancelCommand } from './commands/cancel.js';
import { controllerCommand } from './commands/controller.js';
import { credentialsCommand } from './commands/credentials.js';
import { doctorCommand } from './commands/doctor.js';
import { downloadCommand } from './commands/download.js';
import { listCommand } from './commands/list.js';
import { loginCommand } from './commands/login.js';
import { logoutCommand } from './commands/logout.js';
import { logsCommand } from './commands/logs.js';
import { retryCommand } from './commands/retry.js';
import { secretsCommand } from './commands/secrets.js';
import { statusCommand } from './commands/status.js';
import { upCommand } from './commands/up.js';
import { whoamiCommand } from './commands/whoami.js';
import { workerCommand } from './commands/worker.js';
import { workersCommand } from './commands/workers.js';
import { group } from './command-kit.js';
import { EXIT } from './output.js';
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
  $ cd my-expo-app && npx buildmesh build --platform web

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

program
  .addCommand(upCommand)
  .addCommand(buildCommand)
  .addCommand(statusCommand)
  .addCommand(listCommand)
  .addCommand(logsCommand)
  .addCommand(cancelCommand)
  .addCommand(retryCommand)
  .addCommand(downloadCommand)
  .addCommand(workersCommand)
  .addCommand(doctorCommand)
  .addCommand(loginCommand)
  .addCommand(logoutCommand)
  .addCommand(whoamiCommand)
  .addCommand(credentialsCommand)
  .addCommand(secretsCommand)
  .addCommand(backupCommand)
  .addCommand(restoreCommand)
  .addCommand(
    group('admin', 'Administer orgs, API tokens and worker enrollment tokens', [
      'buildmesh admin org create acme',
      'buildmesh admin token create ci --role member',
      'buildmesh admin enroll-token create mac-minis',
    ], [orgCommand, tokenCommand, enrollTokenCommand]),
  )
  .addCommand(controllerCommand)
  .addCommand(workerCommand);

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

// The server commands' --help shows option tables their packages own: load them first.
if (process.argv.slice(2).some((arg) => SERVER_COMMANDS.includes(arg))) await Promise.all([loadController(), loadWorker()]);

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
