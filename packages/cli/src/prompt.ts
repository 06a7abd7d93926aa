/**
 * Reading secrets and answers from the person at the terminal, or from stdin when piped.
 * Secrets never come from argv (visible in `ps` and shell history): they come from stdin,
 * a hidden prompt, or an environment variable the caller names.
 */
import { createInterface } from 'node:readline';
import { CliError, EXIT } from './output.js';

export const stdinIsTty = (): boolean => process.stdin.isTTY === true;

/** All of stdin, with one trailing newline (\n or \r\n) removed; the rest of the value is kept as is. */
export async function readStdin(maxBytes = 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new CliError('INPUT_TOO_LARGE', `stdin is larger than ${maxBytes} bytes`, 'pipe only the value');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/**
 * Asks on the terminal without echoing what is typed (stars are not shown either: the length of
 * a token is nobody's business). Ctrl-C aborts with exit 130.
 */
export function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) return Promise.reject(new CliError('NOT_A_TERMINAL', 'cannot prompt: stdin is not a terminal', 'pipe the value on stdin'));
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let value = '';
    const wasRaw = stdin.isRaw;
    stdin.setRawMode(true);
    stdin.resume();
    const finish = (err?: Error) => {
      stdin.setRawMode(wasRaw);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (data: Buffer) => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
        if (ch === '\u0003') return finish(new CliError('INTERRUPTED', 'interrupted', undefined, EXIT.interrupted));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** A visible question with a default answer (returned on an empty line). */
export async function promptLine(question: string, defaultValue = ''): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await new Promise<string>((resolve) => rl.question(question, resolve));
    return answer.trim() || defaultValue;
  } finally {
    rl.close();
  }
}

/**
 * y/N on the terminal; resolves false on Enter, and null when the person presses Ctrl-C again or
 * `signal` aborts (the question became moot: e.g. the build ended meanwhile).
 */
export function confirm(question: string, signal?: AbortSignal): Promise<boolean | null> {
  const stdin = process.stdin;
  if (!stdin.isTTY || signal?.aborted) return Promise.resolve(false);
  process.stderr.write(`${question} [y/N] `);
  return new Promise((resolve) => {
    const wasRaw = stdin.isRaw;
    stdin.setRawMode(true);
    stdin.resume();
    const finish = (answer: boolean | null, echo: string) => {
      stdin.setRawMode(wasRaw);
      stdin.pause();
      stdin.off('data', onData);
      signal?.removeEventListener('abort', onAbort);
      process.stderr.write(echo + '\n');
      resolve(answer);
    };
    const onData = (data: Buffer) => {
      const ch = data.toString('utf8')[0] ?? '';
      if (ch === '\u0003') finish(null, '^C');
      else if (ch === 'y' || ch === 'Y') finish(true, 'yes');
      else finish(false, 'no');
    };
    const onAbort = () => finish(null, '');
    stdin.on('data', onData);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A secret value: piped stdin when `fromStdin` (or stdin is not a terminal), else a hidden prompt.
 * Empty values are refused.
 */
export async function readSecret(options: { prompt: string; fromStdin?: boolean; what: string }): Promise<string> {
  const value = options.fromStdin || !stdinIsTty() ? await readStdin() : await promptHidden(options.prompt);
  if (value === '') {
    throw new CliError('EMPTY_SECRET', `no ${options.what} given`, stdinIsTty() ? 'type or paste it at the prompt' : 'pipe it on stdin');
  }
  return value;
}
