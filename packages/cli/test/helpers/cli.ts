/**
 * Runs the real `buildmesh` binary (node packages/cli/bin/buildmesh.js) as a child process, with
 * an environment cleaned of the caller's BUILDMESH_* variables so tests never touch a real login.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/buildmesh.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to stdin, which is then closed (stdin is always a pipe: never a terminal). */
  input?: string;
  timeoutMs?: number;
}

/** The process environment without BUILDMESH_* (and without colour forcing), plus `extra`. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BUILDMESH_') && k !== 'FORCE_COLOR' && k !== 'NODE_TEST_CONTEXT') env[k] = v;
  return { ...env, ...extra };
}

export function spawnCli(args: string[], options: CliRunOptions = {}): ChildProcess & { output: { stdout: string; stderr: string } } {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: cleanEnv(options.env),
    cwd: options.cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
  }) as ChildProcess & { output: { stdout: string; stderr: string } };
  child.output = { stdout: '', stderr: '' };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (child.output.stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (child.output.stderr += d));
  if (options.input !== undefined) child.stdin!.end(options.input);
  else child.stdin!.end();
  return child;
}

export function runCli(args: string[], options: CliRunOptions = {}): Promise<CliResult> {
  const child = spawnCli(args, options);
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`buildmesh ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout:\n${child.output.stdout}\nstderr:\n${child.output.stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: child.output.stdout, stderr: child.output.stderr });
    });
  });
}

/** Runs and expects exit 0; returns the parsed JSON of stdout (the command must be given --json). */
export async function runJson<T = Record<string, unknown>>(args: string[], options: CliRunOptions = {}): Promise<T> {
  const result = await runCli(args, options);
  if (result.code !== 0) {
    throw new Error(`buildmesh ${args.join(' ')} exited ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`buildmesh ${args.join(' ')} printed no JSON on stdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
}

/** Resolves with the first stdout line that parses as a JSON object accepted by `accept`. */
export function waitForJsonLine<T>(
  child: ChildProcess & { output: { stdout: string; stderr: string } },
  accept: (value: Record<string, unknown>) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const check = () => {
      for (const line of child.output.stdout.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const value = JSON.parse(line) as Record<string, unknown>;
          if (accept(value)) {
            cleanup();
            resolve(value as T);
            return;
          }
        } catch {
          // a log line or a partial line
        }
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`process exited (${code}) before printing the expected line\nstdout:\n${child.output.stdout}\nstderr:\n${child.output.stderr}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no expected line within ${timeoutMs} ms\nstdout:\n${child.output.stdout}\nstderr:\n${child.output.stderr}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
    };
    const onData = () => setImmediate(check);
    child.stdout!.on('data', onData);
    child.on('exit', onExit);
    check();
  });
}

/** Resolves when `text` appears in the child's stdout. */
export function waitForOutput(child: ChildProcess & { output: { stdout: string } }, text: string | RegExp, timeoutMs = 60_000): Promise<void> {
  const found = () => (typeof text === 'string' ? child.output.stdout.includes(text) : text.test(child.output.stdout));
  return new Promise((resolve, reject) => {
    if (found()) return resolve();
    const timer = setTimeout(() => {
      child.stdout!.off('data', onData);
      reject(new Error(`"${String(text)}" did not appear within ${timeoutMs} ms; stdout so far:\n${child.output.stdout}`));
    }, timeoutMs);
    const onData = () => {
      if (found()) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
  });
}

/** Waits for a child to exit; kills it (SIGKILL) if it has not within `timeoutMs`. */
export function waitForExit(child: ChildProcess, timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}
