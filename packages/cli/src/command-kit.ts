/**
 * What every command shares: a `--json` flag, an Examples section in `--help`, and one action
 * wrapper that creates the Output, runs the command, and turns whatever it throws into the
 * one-line error and an exit code. Commands return their exit code (undefined = 0).
 */
import { Command, InvalidArgumentError } from 'commander';
import { createOutput, reportError, type Output } from './output.js';

export interface ActionContext<O> {
  out: Output;
  opts: O;
  /** The command's positional arguments, in order. */
  args: string[];
  cmd: Command;
}

/** A new command with `--json` and an Examples section. */
export function command(name: string, description: string, examples: string[]): Command {
  return new Command(name)
    .description(description)
    .option('--json', 'print the result as JSON on stdout (human messages go to stderr)')
    .addHelpText('after', `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`);
}

/** A command that only groups subcommands (`admin`, `admin token`…), with its own examples. */
export function group(name: string, description: string, examples: string[], subcommands: Command[]): Command {
  const cmd = new Command(name).description(description).addHelpText('after', `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`);
  for (const sub of subcommands) cmd.addCommand(sub);
  return cmd;
}

export function action<O extends { json?: boolean }>(cmd: Command, fn: (ctx: ActionContext<O>) => Promise<number | void>): Command {
  return cmd.action(async (...params: unknown[]) => {
    const self = params[params.length - 1] as Command;
    const opts = self.opts<O>();
    // `workers revoke ID --json`: a parent that lists with --json takes the flag from its subcommand.
    const out = createOutput({ json: opts.json === true || self.parent?.opts().json === true });
    try {
      const code = await fn({ out, opts, args: self.processedArgs as string[], cmd: self });
      process.exitCode = code ?? 0;
    } catch (err) {
      process.exitCode = reportError(err, out.json);
    }
  });
}

/** Commander parser for whole numbers within bounds. */
export function intOption(min: number, max: number) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number');
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`must be between ${min} and ${max}`);
    return n;
  };
}

/** Commander parser for repeatable `--label k=v` flags, collected into a record. */
export function collectLabel(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('must be key=value');
  const key = value.slice(0, eq).trim();
  if (!/^[a-z0-9][a-z0-9._/-]{0,62}$/.test(key)) throw new InvalidArgumentError('key must be lower-case letters, digits, . _ / -');
  return { ...previous, [key]: value.slice(eq + 1).trim() };
}

/** Build ids as the controller issues them; checked before any request so typos answer clearly. */
export function checkBuildId(id: string): string {
  if (!/^bld_[0-9a-z]{26}$/.test(id)) throw new InvalidArgumentError(`"${id}" is not a build id (bld_ followed by 26 characters)`);
  return id;
}
