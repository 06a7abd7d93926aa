/**
 * Runs one process as the root of a process tree that can be stopped as a whole, splitting its
 * output into lines. Shared by every local executor (none, bwrap).
 *
 * Stopping = SIGTERM to the tree, a grace period, then SIGKILL. "The tree" is:
 *  - the process group: the root is spawned `detached` (setsid), so it leads a new group that its
 *    children (`sleep 1000 &`) inherit. One kill(-pgid) reaches all of them, even after the root
 *    has exited and they were re-parented.
 *  - on Linux, additionally every descendant found in /proc by parent pid, which also covers
 *    children that left the group (setsid, as bwrap's sandboxed command does), as long as their
 *    chain of parents back to the root is alive when we look. Pids are remembered with their start
 *    time, so a process re-parented during the grace period still gets the SIGKILL, and a recycled
 *    pid never does.
 *  - with a `marker` (the none executor): every process whose environment carries the marker
 *    variable, read from /proc/<pid>/environ (readable for processes of the same user). This finds
 *    what both left the group and lost its parent chain (double fork + setsid, nohup). Only a
 *    process that also scrubs the variable from its own environment escapes; under bwrap the PID
 *    namespace closes every gap.
 *
 * When the root exits on its own, whatever it left running in its tree is stopped the same way:
 * a build step must not outlive itself.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecResult, IdleLimits } from './executor.js';

export interface TreeRequest {
  /** argv[0] is an absolute path, or looked up on `env.PATH`. */
  argv: string[];
  cwd: string;
  /** The complete environment (not merged with the worker's). */
  env: Record<string, string>;
  /** Run the process as this user and group (the worker runs as root). Supplementary groups are dropped. */
  uid?: number;
  gid?: number;
  /** Written to the child's fd 3 (a pipe), then closed: how bwrap gets its arguments (`--args 3`). */
  fd3Data?: Buffer;
  /** Open file descriptors handed to the child as fd 4, 5, …; the caller closes them after the run. */
  passFds?: number[];
  /** `NAME=value` in the environment of every process of the tree: how the tree is found in /proc. */
  marker?: string;
  timeoutMs?: number;
  /** Stop (or warn about) a tree that prints nothing for this long; see ExecRequest.idle. */
  idle?: IdleLimits;
  onIdleWarning?: (silentMs: number) => void;
  signal?: AbortSignal;
  onLine: (stream: 'stdout' | 'stderr', line: string) => void;
  killGraceMs: number;
  /**
   * The root only supervises the real work (bwrap): SIGTERM then goes to its descendants alone,
   * because bwrap, when signalled, would SIGKILL its sandbox at once and the grace would be lost.
   */
  rootIsSupervisor?: boolean;
}

/** Longer lines are cut: a progress bar without newlines must not grow a string forever. */
const MAX_LINE_CHARS = 64 * 1024;
/** How often we look whether a stopped tree is gone. */
const POLL_MS = 50;
/** After the tree is dead, how long a straggler that escaped it may keep the output pipes open. */
const PIPE_CLOSE_WAIT_MS = 500;
/** After SIGKILL, how long we wait for the kernel to finish (D-state processes) before giving up. */
const AFTER_KILL_WAIT_MS = 2000;

export async function runProcessTree(req: TreeRequest): Promise<ExecResult> {
  const startedAt = Date.now();
  const outcome = { timedOut: false, canceled: false };
  let idleStopped = false;
  const result = (exitCode: number | null, signal: NodeJS.Signals | null): ExecResult => ({
    exitCode,
    signal,
    ...outcome,
    ...(idleStopped ? { idle: true } : {}),
    durationMs: Date.now() - startedAt,
  });
  if (req.signal?.aborted) {
    outcome.canceled = true;
    return result(null, null);
  }

  // A throwing onLine must not crash the worker from inside a stream event: stop and rethrow later.
  let callbackError: { error: unknown } | undefined;
  const lines = (stream: 'stdout' | 'stderr') =>
    new LineSplitter((line) => {
      if (callbackError) return;
      try {
        req.onLine(stream, line);
      } catch (error) {
        callbackError = { error };
        stop();
      }
    });
  const stdout = lines('stdout');
  const stderr = lines('stderr');

  const [command, ...args] = req.argv;
  if (command === undefined) throw new TypeError('argv must not be empty');
  // stdin is /dev/null: build steps are never interactive.
  const extra: Array<'pipe' | 'ignore' | number> = req.fd3Data || req.passFds?.length ? [req.fd3Data ? 'pipe' : 'ignore', ...(req.passFds ?? [])] : [];
  const child = spawn(command, args, {
    cwd: req.cwd,
    env: req.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe', ...extra],
    ...(req.uid !== undefined ? { uid: req.uid } : {}),
    ...(req.gid !== undefined ? { gid: req.gid } : {}),
  });
  const childStdout = child.stdout as Readable;
  const childStderr = child.stderr as Readable;
  if (req.fd3Data) {
    const fd3 = child.stdio[3] as Writable;
    fd3.on('error', () => {}); // the child died before reading: its exit is what gets reported
    fd3.end(req.fd3Data);
  }
  const closed = once(child, 'close');
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  closed.catch(() => {}); // 'error' (spawn failure) rejects these; that case is handled below
  exited.catch(() => {});
  // once() rejects with the 'error' event, which is how a failed spawn (ENOENT...) is reported.
  const spawnError = await once(child, 'spawn').then(
    () => undefined,
    (err: unknown) => err as Error,
  );
  if (spawnError || child.pid === undefined) {
    // Like a shell: "command not found" is a failed step (127), not an exception.
    req.onLine('stderr', `buildmesh: cannot start ${JSON.stringify(command)}: ${spawnError?.message ?? 'no pid'}`);
    return result(127, null);
  }
  const tree = new ProcessTree(child.pid, req.rootIsSupervisor ?? false, req.marker);
  const watchdog = req.idle
    ? new IdleWatchdog(req.idle, (silentMs) => req.onIdleWarning?.(silentMs), () => {
        if (outcome.canceled || outcome.timedOut) return;
        outcome.timedOut = true;
        idleStopped = true;
        stop();
      })
    : undefined;
  childStdout.on('data', (chunk: Buffer) => {
    watchdog?.output();
    stdout.push(chunk);
  });
  childStderr.on('data', (chunk: Buffer) => {
    watchdog?.output();
    stderr.push(chunk);
  });

  let killAt: number | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  function stop(): void {
    if (killAt !== undefined) return;
    killAt = Date.now() + req.killGraceMs;
    tree.signal('SIGTERM');
    killTimer = setTimeout(() => tree.signal('SIGKILL'), req.killGraceMs);
  }
  const onAbort = (): void => {
    if (!outcome.timedOut) outcome.canceled = true;
    stop();
  };
  req.signal?.addEventListener('abort', onAbort, { once: true });
  const timeout =
    req.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          if (!outcome.canceled) outcome.timedOut = true;
          stop();
        }, req.timeoutMs);

  const [exitCode, exitSignal] = await exited;
  clearTimeout(timeout);
  watchdog?.dispose();
  req.signal?.removeEventListener('abort', onAbort);

  // The step is over; what it left running (background jobs, daemons) goes with it.
  if (tree.alive()) stop();
  if (killAt !== undefined) {
    const giveUpAt = killAt + AFTER_KILL_WAIT_MS;
    while (tree.alive() && Date.now() < giveUpAt) await sleep(POLL_MS);
  }
  clearTimeout(killTimer);
  // Normally the pipes close with the tree. If not, a process escaped it and holds them: stop
  // reading rather than wait for it forever.
  let pipeTimer: NodeJS.Timeout | undefined;
  const pipesClosed = await Promise.race([
    closed.then(() => true),
    new Promise<false>((resolve) => (pipeTimer = setTimeout(() => resolve(false), PIPE_CLOSE_WAIT_MS))),
  ]);
  clearTimeout(pipeTimer);
  if (!pipesClosed) {
    childStdout.destroy();
    childStderr.destroy();
  }
  stdout.flush();
  stderr.flush();
  if (callbackError) throw callbackError.error;
  return result(exitCode, exitSignal);
}

/**
 * Calls `warn` after `warnAfterMs` and `kill` after `killAfterMs` without output. One timer at a
 * time: output only records its time, and a timer that fires early is re-armed for the rest.
 */
class IdleWatchdog {
  private lastOutputAt = Date.now();
  private warned = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly limits: IdleLimits,
    private readonly warn: (silentMs: number) => void,
    private readonly kill: () => void,
  ) {
    this.arm();
  }

  output(): void {
    this.lastOutputAt = Date.now();
    this.warned = false;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    const silent = Date.now() - this.lastOutputAt;
    const { warnAfterMs, killAfterMs } = this.limits;
    if (silent >= killAfterMs) {
      this.timer = undefined;
      this.kill();
      return;
    }
    if (warnAfterMs !== undefined && !this.warned && silent >= warnAfterMs) {
      this.warned = true;
      this.warn(silent);
    }
    const nextWarn = warnAfterMs !== undefined && !this.warned && warnAfterMs < killAfterMs ? warnAfterMs : killAfterMs;
    this.timer = setTimeout(() => this.arm(), Math.max(1, nextWarn - silent));
  }
}

/** Bytes -> lines: UTF-8 safe across chunk boundaries, CRLF-aware, final partial line on flush. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(private readonly emit: (line: string) => void) {}

  push(chunk: Buffer): void {
    this.take(this.decoder.write(chunk));
  }

  flush(): void {
    this.take(this.decoder.end());
    if (this.partial !== '') this.emitLine(this.partial);
    this.partial = '';
  }

  private take(text: string): void {
    const buffered = this.partial + text;
    let start = 0;
    for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n', start)) {
      this.emitLine(buffered.slice(start, nl));
      start = nl + 1;
    }
    let rest = buffered.slice(start);
    while (rest.length > MAX_LINE_CHARS) {
      this.emit(rest.slice(0, MAX_LINE_CHARS));
      rest = rest.slice(MAX_LINE_CHARS);
    }
    this.partial = rest;
  }

  private emitLine(line: string): void {
    this.emit(line.endsWith('\r') ? line.slice(0, -1) : line);
  }
}

interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  state: string;
  /** Start time in clock ticks since boot: with the pid, identifies a process over time. */
  start: string;
}

class ProcessTree {
  /** Every process seen in the tree so far (pid -> start time). */
  private readonly members = new Map<number, string>();

  constructor(
    private readonly rootPid: number,
    private readonly rootIsSupervisor: boolean,
    /** `NAME=value`, as it appears in /proc/<pid>/environ. */
    private readonly marker?: string,
  ) {}

  signal(sig: 'SIGTERM' | 'SIGKILL'): void {
    const table = readProcessTable();
    if (table) this.remember(table);
    const spareRoot = sig === 'SIGTERM' && this.rootIsSupervisor;
    // The group kill is atomic for everything still in the group: it goes first.
    if (!spareRoot || table === undefined) sendSignal(-this.rootPid, sig);
    if (!table) return;
    for (const [pid, start] of this.members) {
      if (spareRoot && pid === this.rootPid) continue;
      if (table.get(pid)?.start === start) sendSignal(pid, sig);
    }
  }

  /** Whether any process of the tree is still running. Zombies count as dead: they only wait to be reaped. */
  alive(): boolean {
    const table = readProcessTable();
    if (!table) return sendSignal(-this.rootPid, 0);
    this.remember(table);
    for (const [pid, start] of this.members) {
      const info = table.get(pid);
      if (info && info.start === start && info.state !== 'Z') return true;
    }
    return false;
  }

  private remember(table: Map<number, ProcInfo>): void {
    const children = new Map<number, ProcInfo[]>();
    for (const info of table.values()) {
      if (info.pgrp === this.rootPid) this.members.set(info.pid, info.start);
      const siblings = children.get(info.ppid);
      if (siblings) siblings.push(info);
      else children.set(info.ppid, [info]);
    }
    if (this.marker) {
      const needle = Buffer.from(`\0${this.marker}\0`);
      for (const info of table.values()) {
        if (!this.members.has(info.pid) && environContains(info.pid, needle)) this.members.set(info.pid, info.start);
      }
    }
    const root = table.get(this.rootPid);
    const todo = root ? [root] : [];
    for (let info = todo.pop(); info; info = todo.pop()) {
      this.members.set(info.pid, info.start);
      todo.push(...(children.get(info.pid) ?? []));
    }
  }
}

function sendSignal(pid: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false; // ESRCH: already gone; EPERM: not ours (a recycled pid), leave it alone
  }
}

/** Whether the process's initial environment holds `needle` (`\0NAME=value\0`). */
function environContains(pid: number, needle: Buffer): boolean {
  let environ: Buffer;
  try {
    environ = readFileSync(`/proc/${pid}/environ`);
  } catch {
    return false; // gone, or another user's process: not ours
  }
  // Pad with NULs so the first and the last variable match too.
  return Buffer.concat([Buffer.from([0]), environ, Buffer.from([0])]).includes(needle);
}

/** pid -> info for every process, from /proc; undefined where there is no /proc (macOS). */
function readProcessTable(): Map<number, ProcInfo> | undefined {
  if (process.platform !== 'linux') return undefined;
  const table = new Map<number, ProcInfo>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited while we were looking
    }
    // "pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime
    // stime cutime cstime priority nice num_threads itrealvalue starttime ...": comm may contain
    // spaces and parentheses, so split after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const [state = '', ppid = '0', pgrp = '0'] = fields;
    table.set(Number(name), { pid: Number(name), ppid: Number(ppid), pgrp: Number(pgrp), state, start: fields[19] ?? '' });
  }
  return table;
}
