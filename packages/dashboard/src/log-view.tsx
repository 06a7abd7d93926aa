/**
 * A build's log grouped by phase: each phase is a collapsible section (the failed and the
 * running phase open), error lines highlighted, ANSI colours rendered, every line a link
 * (#L<n>), copy per phase or whole. Virtualised: only the rows in view are in the DOM, and a
 * row's position comes from per-phase counts, so a 500,000-line log scrolls like a short one.
 */
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { LogEntry } from '@buildmesh/protocol/browser';
import { renderAnsi, stripAnsi } from './ansi.js';
import { duration } from './format.js';

export const ROW_HEIGHT = 20;
const OVERSCAN = 30;

export interface Phase {
  name: string;
  /** Index of its first and one past its last line in the log. */
  start: number;
  end: number;
  result?: string;
  durationMs?: number;
  startedAt: number;
  lastAt: number;
  errors: number;
}

/** Appends lines to the phase list (in place: the log only grows). */
export function groupLines(phases: Phase[], lines: LogEntry[], from: number): void {
  for (let i = from; i < lines.length; i++) {
    const line = lines[i]!;
    const name = line.phase ?? 'WORKER';
    let current = phases[phases.length - 1];
    if (!current || current.name !== name || (line.marker === 'START_PHASE' && current.end > current.start)) {
      current = { name, start: i, end: i, startedAt: line.t, lastAt: line.t, errors: 0 };
      phases.push(current);
    }
    current.end = i + 1;
    current.lastAt = line.t;
    if (isErrorLine(line)) current.errors++;
    if (line.marker === 'END_PHASE') {
      current.result = line.result;
      if (line.durationMs !== undefined) current.durationMs = line.durationMs;
    }
  }
}

/** Error words, Kotlin/Gradle's `e: ` and Xcode's `❌` prefixes. */
const ERROR_PATTERN = /\b(error|failed|failure|fatal|exception)\b|^e: |✖|❌/i;
export const isErrorLine = (line: LogEntry): boolean => line.marker === undefined && ERROR_PATTERN.test(line.text);

const phaseLabel = (name: string): string => name.toLowerCase().replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

interface Props {
  lines: LogEntry[];
  phases: Phase[];
  /** Bumped whenever lines were appended (the arrays are mutated in place). */
  version: number;
  live: boolean;
  failedPhase?: string | null;
}

type Row = { kind: 'phase'; phase: number } | { kind: 'line'; phase: number; line: number };

export function LogView({ lines, phases, version, live, failedPhase }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const [toggled, setToggled] = useState<Map<number, boolean>>(new Map());
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const [follow, setFollow] = useState(true);
  const [copied, setCopied] = useState<string | null>(null);
  const [target, setTarget] = useState<number | null>(() => {
    const m = /^#L(\d+)$/.exec(location.hash);
    return m ? Number(m[1]) - 1 : null;
  });

  const isOpen = (i: number): boolean => {
    const t = toggled.get(i);
    if (t !== undefined) return t;
    const p = phases[i]!;
    if (target !== null && target >= p.start && target < p.end) return true;
    return p.result === 'failed' || p.name === failedPhase || i === phases.length - 1;
  };

  // Rows per phase and their running total: row ↔ (phase, line) without a row per line in memory.
  const layout = useMemo(() => {
    const offsets: number[] = [];
    let total = 0;
    phases.forEach((p, i) => {
      offsets.push(total);
      total += 1 + (isOpen(i) ? p.end - p.start : 0);
    });
    return { offsets, total };
  }, [version, toggled, phases.length, target, failedPhase]);

  const rowAt = (r: number): Row => {
    let lo = 0;
    let hi = layout.offsets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (layout.offsets[mid]! <= r) lo = mid;
      else hi = mid - 1;
    }
    const k = r - layout.offsets[lo]!;
    return k === 0 ? { kind: 'phase', phase: lo } : { kind: 'line', phase: lo, line: phases[lo]!.start + k - 1 };
  };

  const rowOfLine = (line: number): number | null => {
    const i = phases.findIndex((p) => line >= p.start && line < p.end);
    if (i < 0 || !isOpen(i)) return null;
    return layout.offsets[i]! + 1 + (line - phases[i]!.start);
  };

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const resize = new ResizeObserver(() => setHeight(el.clientHeight));
    resize.observe(el);
    setHeight(el.clientHeight);
    return () => resize.disconnect();
  }, []);

  // Follow the end while live (until the reader scrolls up); jump to a linked line once it has arrived.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (target !== null) {
      const row = rowOfLine(target);
      if (row !== null) {
        el.scrollTop = Math.max(0, row * ROW_HEIGHT - el.clientHeight / 3);
        setFollow(false);
      }
      return;
    }
    if (follow && live) el.scrollTop = el.scrollHeight;
  }, [layout, follow, live, target]);

  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(null), 1500);
    return () => clearTimeout(timer);
  }, [copied]);

  const onScroll = (): void => {
    const el = scroller.current!;
    setScrollTop(el.scrollTop);
    const atEnd = el.scrollTop + el.clientHeight >= el.scrollHeight - ROW_HEIGHT * 2;
    if (atEnd !== follow) setFollow(atEnd);
  };

  const toggle = (i: number): void => setToggled(new Map(toggled).set(i, !isOpen(i)));
  const copy = async (from: number, to: number, what: string): Promise<void> => {
    const text: string[] = [];
    for (let i = from; i < to; i++) text.push(stripAnsi(lines[i]!.text));
    await navigator.clipboard.writeText(text.join('\n'));
    setCopied(what);
  };

  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(layout.total, Math.ceil((scrollTop + height) / ROW_HEIGHT) + OVERSCAN);
  const rows = [];
  for (let r = first; r < last; r++) {
    const row = rowAt(r);
    const top = r * ROW_HEIGHT;
    if (row.kind === 'phase') {
      const p = phases[row.phase]!;
      const open = isOpen(row.phase);
      const running = live && row.phase === phases.length - 1 && !p.result;
      const state = p.result ?? (running ? 'running' : 'done');
      rows.push(
        <div key={`p${row.phase}`} class={`log-phase phase-${state}`} style={{ top: `${top}px` }}>
          <button type="button" class="phase-toggle" aria-expanded={open} onClick={() => toggle(row.phase)}>
            <span class="chevron" aria-hidden="true">{open ? '▾' : '▸'}</span>
            <span class={`dot dot-${state}`} aria-hidden="true" />
            <span class="phase-name">{phaseLabel(p.name)}</span>
            {p.errors > 0 && <span class="phase-errors">{p.errors} error{p.errors === 1 ? '' : 's'}</span>}
            <span class="phase-meta">
              {p.end - p.start} lines · {duration(p.durationMs ?? p.lastAt - p.startedAt)}
            </span>
          </button>
          <button type="button" class="ghost small" onClick={() => void copy(p.start, p.end, p.name)} aria-label={`Copy the ${phaseLabel(p.name)} phase`}>
            {copied === p.name ? 'Copied' : 'Copy'}
          </button>
        </div>,
      );
    } else {
      const line = lines[row.line]!;
      const error = isErrorLine(line);
      const n = row.line + 1;
      rows.push(
        <div
          key={row.line}
          id={`L${n}`}
          class={`log-line${error ? ' error' : ''}${line.stream === 'system' ? ' system' : ''}${target === row.line ? ' target' : ''}`}
          style={{ top: `${top}px` }}
        >
          <a
            class="ln"
            href={`#L${n}`}
            tabIndex={-1}
            onClick={(e) => {
              e.preventDefault();
              history.replaceState(null, '', `#L${n}`);
              setTarget(row.line);
            }}
          >
            {n}
          </a>
          <span class="lt">{renderAnsi(line.text)}</span>
        </div>,
      );
    }
  }

  return (
    <section class="log" aria-label="Build log">
      <div class="log-toolbar">
        <span class="muted">
          {lines.length.toLocaleString()} lines{live ? ' · live' : ''}
        </span>
        <span class="spacer" />
        <button type="button" class="ghost small" onClick={() => setToggled(new Map(phases.map((_, i) => [i, true])))}>
          Expand all
        </button>
        <button type="button" class="ghost small" onClick={() => setToggled(new Map(phases.map((_, i) => [i, false])))}>
          Collapse all
        </button>
        <button type="button" class="ghost small" onClick={() => void copy(0, lines.length, 'all')}>
          {copied === 'all' ? 'Copied' : 'Copy log'}
        </button>
        <button
          type="button"
          class="ghost small"
          onClick={() => {
            setTarget(null);
            setFollow(true);
            const el = scroller.current!;
            el.scrollTop = el.scrollHeight;
          }}
        >
          Jump to end
        </button>
      </div>
      <div
        class="log-scroll"
        ref={scroller}
        onScroll={onScroll}
        tabIndex={0}
        aria-label="Log lines"
        data-testid="log-scroll"
        style={{ height: `${Math.max(8, Math.min(layout.total, 36)) * ROW_HEIGHT + 8}px` }}
      >
        <div class="log-canvas" style={{ height: `${layout.total * ROW_HEIGHT}px` }}>
          {rows}
        </div>
        {lines.length === 0 && <p class="log-empty muted">{live ? 'Waiting for the first log line…' : 'No log lines.'}</p>}
      </div>
    </section>
  );
}
