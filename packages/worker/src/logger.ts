/**
 * The worker's own log (not a build's log): JSON lines on stdout through pino.
 * Only ids, names and error codes go here, never tokens, credentials or job env.
 */
import { pino } from 'pino';

type LogFn = (obj: object | string, msg?: string) => void;

/** The subset of pino's logger the worker uses, so the CLI can pass its own. */
export interface WorkerLogger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

export function createWorkerLogger(level = 'info'): WorkerLogger {
  return pino({ name: 'buildmesh-worker', level, base: { pid: process.pid } });
}

export const silentLogger: WorkerLogger = { debug() {}, info() {}, warn() {}, error() {} };
