/**
 * Everything the CLI prints goes through here, so the conventions hold for every command:
 * colour only for a terminal (stdout a TTY, NO_COLOR unset, not --json); with --json, stdout
 * carries exactly one JSON document (or NDJSON for streams) and every human line moves to
 * stderr; errors are one line: `error CODE: message — what to do next`.
 */
import pc from 'picocolors';
import { ApiError, NetworkError, isBuildErrorCode, BuildErrors } from '@buildmesh/protocol';

import { EXIT } from './exit-codes.js';
import { cli } from './invocation.js';

export { EXIT };

/** An error the CLI reports itself: a stable code, a message, and what to do next. */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly hint?: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export type Colors = ReturnType<typeof pc.createColors>;

/** DEL, the C1 controls, bidirectional marks, overrides and isolates, and the Unicode line and paragraph separators. */
const REORDERING_OR_CONTROL = '\\x7f-\\x9f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069';

/**
 * Colour (SGR) sequences are kept; every other escape sequence (OSC: title, clipboard, hyperlinks;
 * cursor moves and erases; DCS/APC/PM/SOS), C0 controls but tab and newline, and REORDERING_OR_CONTROL
 * are dropped, so text from a build or a stored name cannot rewrite the terminal or reorder what it shows.
 */
const UNSAFE_FOR_TERMINAL = new RegExp(
  `(\\x1b\\[[0-9;:]*m)|\\x1b\\][^\\x07\\x1b]*(?:\\x07|\\x1b\\\\)?|\\x1b[P^_X][^\\x1b]*(?:\\x1b\\\\)?|\\x1b\\[[0-?]*[ -/]*[@-~]?|\\x1b[ -/]*[0-~]?|[\\x00-\\x08\\x0b-\\x1f${REORDERING_OR_CONTROL}]`,
  'g',
);

/**
 * Text as printed for people: see UNSAFE_FOR_TERMINAL. Colours left on at the end (say concealed or
 * black-on-black text) are reset before the last newline, so they cannot hide the lines printed after.
 */
export function terminalText(text: string): string {
  let last: string | undefined;
  const kept = text.replace(UNSAFE_FOR_TERMINAL, (_all, sgr: string | undefined) => (sgr === undefined ? '' : (last = sgr)));
  return last === undefined || last === '\x1b[m' || last === '\x1b[0m' ? kept : kept.replace(/\n*$/, (newlines) => `\x1b[0m${newlines}`);
}

/** Stored text shown as data (a table cell): no escape sequence or control character at all, colours included. */
export function plainText(text: string): string {
  return text.replace(UNSAFE_FOR_TERMINAL, '');
}

/** What JSON.stringify leaves raw of REORDERING_OR_CONTROL (it escapes C0 itself). */
const RAW_IN_JSON = new RegExp(`[${REORDERING_OR_CONTROL}]`, 'g');

/**
 * `--json` output: JSON.stringify, with those characters written as \u escapes. They can only occur
 * inside strings, so JSON.parse reads back exactly the same value; a `--json` printed to a terminal
 * (or a log a human reads) cannot be reordered or act on the terminal.
 */
export function jsonText(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(RAW_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function colorEnabled(stream: NodeJS.WriteStream, json: boolean): boolean {
  return !json && stream.isTTY === true && !('NO_COLOR' in process.env && process.env.NO_COLOR !== '');
}

export interface Output {
  readonly json: boolean;
  /** Colours for stdout text (all no-ops when stdout is not a terminal). */
  readonly c: Colors;
  /** Colours for stderr text. */
  readonly ce: Colors;
  /** True when stdout is an interactive terminal and not --json: tables and colour for people. */
  readonly tty: boolean;
  /** A line for people: stdout normally, stderr under --json so stdout stays parseable. */
  info(line?: string): void;
  /** A warning line, always on stderr. */
  warn(line: string): void;
  /** The one JSON document of a --json run. */
  printJson(value: unknown): void;
  /** One line of an NDJSON stream (`logs --json`). */
  printJsonLine(value: unknown): void;
}

export function createOutput(options: { json?: boolean } = {}): Output {
  const json = options.json === true;
  const c = pc.createColors(colorEnabled(process.stdout, json));
  const ce = pc.createColors(colorEnabled(process.stderr, false));
  return {
    json,
    c,
    ce,
    tty: !json && process.stdout.isTTY === true,
    info(line = '') {
      (json ? process.stderr : process.stdout).write(terminalText(line) + '\n');
    },
    warn(line) {
      process.stderr.write(`${ce.yellow('warning')} ${terminalText(line)}\n`);
    },
    printJson(value) {
      process.stdout.write(jsonText(value, 2) + '\n');
    },
    printJsonLine(value) {
      process.stdout.write(jsonText(value) + '\n');
    },
  };
}

// ── tables ──────────────────────────────────────────────────────────────────────────────────────

export interface Column<T> {
  header: string;
  value(row: T): string;
  /** Colour applied after padding, so ANSI codes never skew the widths. */
  color?(text: string, row: T): string;
  /** Longest text before it is cut with an ellipsis. */
  max?: number;
}

/** The terminal's width (COLUMNS when set), or null when stdout is not a terminal. */
export function terminalWidth(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): number | null {
  const fromEnv = Number(env.COLUMNS);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  return stream.isTTY && stream.columns ? stream.columns : null;
}

/**
 * Columns with a `max` are cut to it only when the table would not fit the terminal's width (80
 * when unknown); on a wide terminal they get the room, up to the width.
 */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[], c: Colors, width: number | null = terminalWidth()): string {
  const value = (col: Column<T>, row: T) => plainText(col.value(row));
  const full = rows.map((row) => columns.map((col) => value(col, row).replace(/\s+/g, ' ')));
  const naturalWidth = columns.reduce((sum, col, i) => sum + Math.max(col.header.length, ...full.map((r) => r[i]!.length)) + 2, -2);
  const room = width ?? 80;
  // Cut the capped columns only as much as needed: their caps grow by the spare room, shared.
  const capped = columns.filter((col) => col.max).length;
  const cappedWidth = columns.reduce((sum, col, i) => sum + Math.max(col.header.length, ...full.map((r) => Math.min(r[i]!.length, col.max ?? Infinity))) + 2, -2);
  const extra = naturalWidth <= room ? Infinity : capped ? Math.max(0, Math.floor((room - cappedWidth) / capped)) : 0;
  const cells = rows.map((row) => columns.map((col) => truncate(value(col, row), col.max === undefined ? undefined : col.max + extra)));
  const widths = columns.map((col, i) => Math.max(col.header.length, ...cells.map((r) => r[i]!.length)));
  const lines = [columns.map((col, i) => c.bold(pad(col.header, widths[i]!, i === columns.length - 1))).join('  ')];
  rows.forEach((row, r) => {
    lines.push(
      columns
        .map((col, i) => {
          const text = pad(cells[r]![i]!, widths[i]!, i === columns.length - 1);
          return col.color ? col.color(text, row) : text;
        })
        .join('  '),
    );
  });
  return lines.map((l) => l.trimEnd()).join('\n');
}

function pad(text: string, width: number, last: boolean): string {
  return last ? text : text.padEnd(width);
}

function truncate(text: string, max?: number): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return max !== undefined && Number.isFinite(max) && oneLine.length > max ? oneLine.slice(0, max - 1) + '…' : oneLine;
}

/** `key: value` lines with aligned values, skipping empty values. */
export function renderFields(fields: ReadonlyArray<readonly [string, string | null | undefined]>, c: Colors): string {
  const shown = fields.filter(([, v]) => v !== undefined && v !== null && v !== '');
  const width = Math.max(0, ...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${c.dim((k + ':').padEnd(width + 1))} ${v}`).join('\n');
}

// ── formatting ──────────────────────────────────────────────────────────────────────────────────

const STATUS_COLORS: Record<string, (c: Colors, s: string) => string> = {
  queued: (c, s) => c.cyan(s),
  running: (c, s) => c.blue(s),
  succeeded: (c, s) => c.green(s),
  failed: (c, s) => c.red(s),
  canceled: (c, s) => c.yellow(s),
  timed_out: (c, s) => c.red(s),
  online: (c, s) => c.green(s),
  offline: (c, s) => c.dim(s),
};

/** Colours a status word; padding around it is kept as is. */
export function colorStatus(c: Colors, text: string): string {
  const paint = STATUS_COLORS[text.trim()];
  return paint ? paint(c, text) : text;
}

/** "42s", "3m 05s", "2h 10m". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** "just now", "5m ago", "3h ago", "2d ago"; "-" for null. */
export function formatAgo(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const seconds = Math.round((now - Date.parse(iso)) / 1000);
  if (seconds < 10) return 'just now';
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86400)}d ago`;
}

export function formatLabels(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(',') : '-';
}

/** Where a build's artifacts are declared, for every "no artifacts" message. */
export const ARTIFACT_FIELDS_HINT =
  'declare them in eas.json: `buildArtifactPaths` (a list of files or globs, in the profile or its android/ios/web section: any platform, custom builds included) ' +
  'or `applicationArchivePath` (the app archive, inside the profile\'s android or ios section)';

// ── errors ──────────────────────────────────────────────────────────────────────────────────────

export interface ReportedError {
  code: string;
  message: string;
  hint: string | null;
  exitCode: number;
}

/** What to do next after a controller error, by its stable code. */
function apiHint(code: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const bm = cli();
  if (code === 'UNAUTHENTICATED') {
    // A token in the environment wins over the saved login: say so, or "log in again" fixes nothing.
    if (env.BUILDMESH_TOKEN?.trim()) return `the token in BUILDMESH_TOKEN overrides the saved login and was refused: fix or unset BUILDMESH_TOKEN`;
    const url = env.BUILDMESH_URL?.trim() ? ` --url ${env.BUILDMESH_URL.trim()}` : '';
    return `log in again with \`${bm} login${url}\`${url ? ' (BUILDMESH_URL picks that controller)' : ''} (or set BUILDMESH_TOKEN)`;
  }
  const hints: Partial<Record<string, string>> = {
    FORBIDDEN: `this needs a token with a higher role; ask an org admin (\`${bm} whoami\` shows yours)`,
    NOT_FOUND: `check the id; \`${bm} list\` shows your builds`,
    NAME_TAKEN: 'choose another name',
    PAYLOAD_TOO_LARGE: 'make the project smaller (add large files to .easignore) and retry',
    SHUTTING_DOWN: 'the controller is restarting; retry in a few seconds',
    DATABASE_UNAVAILABLE: "the controller's database is restarting or unreachable; retry in a few seconds",
    INTERNAL: 'retry; if it persists, check the controller log',
    VALIDATION_FAILED: `check the values given; \`${bm} <command> --help\` shows the accepted forms`,
    OIDC_TOKEN_REFUSED: `check that BUILDMESH_ORG (or --org) names the org whose trust rule should accept this ID token and that the token's audience is the rule's; an admin of that org may see why in \`${bm} admin audit\` (\`${bm} admin trust list\` shows its rules)`,
  };
  return hints[code] ?? null;
}

/** Turns anything thrown into the one-line report (code, message, hint) and an exit code. */
export function describeError(err: unknown): ReportedError {
  if (err instanceof CliError) {
    return { code: err.code, message: err.message, hint: err.hint ?? null, exitCode: err.exitCode };
  }
  if (err instanceof ApiError) {
    return { code: err.code, message: err.message, hint: apiHint(err.code), exitCode: EXIT.failure };
  }
  if (err instanceof NetworkError) {
    return {
      code: 'CONTROLLER_UNREACHABLE',
      message: err.message,
      hint: process.env.BUILDMESH_URL?.trim()
        ? `BUILDMESH_URL (${process.env.BUILDMESH_URL.trim()}) overrides the saved login: is that controller running? Unset BUILDMESH_URL to use the saved one`
        : `is the controller running? Start one with \`${cli()} up\`, or check the URL (\`${cli()} whoami\`, BUILDMESH_URL)`,
      exitCode: EXIT.failure,
    };
  }
  // A file-system error (ENOTDIR, EACCES…): what was done to which path, not Node's raw "ENOTDIR: ENOTDIR: …".
  const sys = err as NodeJS.ErrnoException & { dest?: string };
  if (err instanceof Error && typeof sys.code === 'string' && typeof sys.syscall === 'string') {
    const reason = err.message.replace(/^[A-Z]+: /, '').replace(/, \w+( '.*')*$/, '');
    const where = sys.path ? ` ${sys.path}${sys.dest ? ` → ${sys.dest}` : ''}` : '';
    return { code: sys.code, message: `cannot ${sys.syscall}${where}: ${reason}`, hint: sys.path ? 'check that path (a file where a directory is expected, or the other way round, or its permissions)' : null, exitCode: EXIT.failure };
  }
  // Typed errors of other modules (EasJsonError, FileListError, PackError…) carry a string code.
  const e = err as { code?: unknown; message?: unknown; hint?: unknown };
  if (err instanceof Error && typeof e.code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(e.code)) {
    return { code: e.code, message: err.message, hint: typeof e.hint === 'string' ? e.hint : null, exitCode: EXIT.failure };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'UNEXPECTED', message, hint: 'this is a bug in buildmesh; please report it with the command you ran', exitCode: EXIT.failure };
}

/** Prints the one-line error (and, under --json, `{ "error": {...} }` on stdout); returns the exit code. */
export function reportError(err: unknown, json: boolean): number {
  const r = describeError(err);
  const ce = pc.createColors(colorEnabled(process.stderr, false));
  // Multi-line messages (e.g. the largest files of a too-large project) keep their detail lines.
  const [first, ...rest] = r.message.split('\n');
  let line = `${ce.red(ce.bold('error'))} ${ce.bold(r.code)}: ${first}`;
  if (r.hint) line += ` — ${r.hint}`;
  process.stderr.write(terminalText(line + '\n' + (rest.length ? rest.join('\n') + '\n' : '')));
  if (json) process.stdout.write(jsonText({ error: { code: r.code, message: r.message, hint: r.hint } }, 2) + '\n');
  return r.exitCode;
}

/** The one line a failed build prints: its code, message and the catalogue's explanation. */
export function buildErrorLine(error: { code: string; message: string; explanation?: string; phase?: string } | null): {
  code: string;
  message: string;
  hint: string | undefined;
} {
  if (!error) return { code: 'UNKNOWN_ERROR', message: 'the build ended without an error report', hint: undefined };
  // "canceled by a user — The build was canceled." says the same twice: the message alone.
  if (error.code === 'BUILD_CANCELED') return { code: error.code, message: error.message, hint: undefined };
  const explanation = error.explanation ?? (isBuildErrorCode(error.code) ? BuildErrors[error.code] : undefined);
  const where = error.phase ? ` (phase ${error.phase})` : '';
  return {
    code: error.code,
    message: `${error.message}${where}`,
    hint: explanation && explanation !== error.message ? explanation : undefined,
  };
}
