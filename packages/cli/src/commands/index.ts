/**
 * Every top-level command, in the order `buildmesh --help` lists them, each loaded only when
 * named: a command pays for its own modules (tar for build, fastify for controller), never for
 * the others'. `buildmesh --help` loads them all. Add a command here, once.
 */
import type { Command } from 'commander';

export interface CommandEntry {
  name: string;
  load: () => Promise<Command>;
}

export const COMMANDS: CommandEntry[] = [
  { name: 'up', load: async () => (await import('./up.js')).upCommand },
  { name: 'build', load: async () => (await import('./build.js')).buildCommand },
  { name: 'status', load: async () => (await import('./status.js')).statusCommand },
  { name: 'list', load: async () => (await import('./list.js')).listCommand },
  { name: 'logs', load: async () => (await import('./logs.js')).logsCommand },
  { name: 'cancel', load: async () => (await import('./cancel.js')).cancelCommand },
  { name: 'retry', load: async () => (await import('./retry.js')).retryCommand },
  { name: 'download', load: async () => (await import('./download.js')).downloadCommand },
  { name: 'verify', load: async () => (await import('./verify.js')).verifyCommand },
  { name: 'workers', load: async () => (await import('./workers.js')).workersCommand },
  { name: 'doctor', load: async () => (await import('./doctor.js')).doctorCommand },
  { name: 'login', load: async () => (await import('./login.js')).loginCommand },
  { name: 'logout', load: async () => (await import('./logout.js')).logoutCommand },
  { name: 'whoami', load: async () => (await import('./whoami.js')).whoamiCommand },
  { name: 'credentials', load: async () => (await import('./credentials.js')).credentialsCommand },
  { name: 'secrets', load: async () => (await import('./secrets.js')).secretsCommand },
  { name: 'version', load: async () => (await import('./version.js')).versionCommand },
  { name: 'project', load: async () => (await import('./project.js')).projectCommand },
  { name: 'webhooks', load: async () => (await import('./webhooks.js')).webhooksCommand },
  { name: 'stats', load: async () => (await import('./stats.js')).statsCommand },
  { name: 'backup', load: async () => (await import('./backup.js')).backupCommand },
  { name: 'restore', load: async () => (await import('./backup.js')).restoreCommand },
  { name: 'migrate', load: async () => (await import('./migrate.js')).migrateCommand },
  { name: 'migrate-store', load: async () => (await import('./migrate-store.js')).migrateStoreCommand },
  { name: 'admin', load: async () => (await import('./admin/index.js')).adminCommand },
  { name: 'controller', load: async () => (await import('./controller.js')).controllerCommand },
  { name: 'worker', load: async () => (await import('./worker.js')).workerCommand },
];

/**
 * The commands this argv needs: the one it names, none for a bare `--version`, all otherwise
 * (help, or a typo that commander should answer with its "unknown command" error).
 */
export async function loadCommands(args: string[]): Promise<Command[]> {
  const name = args.find((arg) => !arg.startsWith('-'));
  const named = COMMANDS.find((c) => c.name === name);
  if (named) return [await named.load()];
  if (name === undefined && args.length > 0 && args.every((arg) => arg === '-v' || arg === '--version')) return [];
  return Promise.all(COMMANDS.map((c) => c.load()));
}
