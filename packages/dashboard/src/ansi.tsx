/**
 * ANSI SGR colours → spans with classes (16 colours, bold, dim, italic, underline) and CSSOM colours
 * for 256/true colour. Text stays text: nothing is ever parsed as HTML.
 */
import type { JSX } from 'preact';

interface Style {
  fg?: string;
  bg?: string;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
}

const PALETTE_256 = (n: number): string => {
  if (n < 16) return `var(--ansi-${n})`;
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return `rgb(${v},${v},${v})`;
  }
  const i = n - 16;
  const c = (x: number): number => (x === 0 ? 0 : 55 + x * 40);
  return `rgb(${c(Math.floor(i / 36))},${c(Math.floor(i / 6) % 6)},${c(i % 6)})`;
};

const SGR = /\x1b\[([0-9;]*)m/g;
const OTHER_ESCAPES = /\x1b\[[0-9;?]*[A-Za-ln-z]|\x1b\][^\x07]*\x07|\r/g;

function apply(style: Style, params: number[]): Style {
  const s = { ...style };
  for (let i = 0; i < params.length; i++) {
    const p = params[i]!;
    if (p === 0) Object.assign(s, { fg: undefined, bg: undefined, bold: false, dim: false, italic: false, underline: false });
    else if (p === 1) s.bold = true;
    else if (p === 2) s.dim = true;
    else if (p === 3) s.italic = true;
    else if (p === 4) s.underline = true;
    else if (p === 22) s.bold = s.dim = false;
    else if (p === 23) s.italic = false;
    else if (p === 24) s.underline = false;
    else if (p >= 30 && p <= 37) s.fg = `var(--ansi-${p - 30})`;
    else if (p >= 90 && p <= 97) s.fg = `var(--ansi-${p - 90 + 8})`;
    else if (p === 39) s.fg = undefined;
    else if (p >= 40 && p <= 47) s.bg = `var(--ansi-${p - 40})`;
    else if (p >= 100 && p <= 107) s.bg = `var(--ansi-${p - 100 + 8})`;
    else if (p === 49) s.bg = undefined;
    else if ((p === 38 || p === 48) && params[i + 1] === 5) {
      const colour = PALETTE_256(params[i + 2] ?? 0);
      if (p === 38) s.fg = colour;
      else s.bg = colour;
      i += 2;
    } else if ((p === 38 || p === 48) && params[i + 1] === 2) {
      const colour = `rgb(${params[i + 2] ?? 0},${params[i + 3] ?? 0},${params[i + 4] ?? 0})`;
      if (p === 38) s.fg = colour;
      else s.bg = colour;
      i += 4;
    }
  }
  return s;
}

export const stripAnsi = (text: string): string => text.replace(SGR, '').replace(OTHER_ESCAPES, '');

/** The line as children: plain text when it has no escapes (the common case, no extra nodes). */
export function renderAnsi(text: string): string | JSX.Element[] {
  if (!text.includes('\x1b')) return text;
  const out: JSX.Element[] = [];
  let style: Style = {};
  let last = 0;
  const push = (chunk: string): void => {
    chunk = chunk.replace(OTHER_ESCAPES, '');
    if (!chunk) return;
    const cls = [style.bold && 'b', style.dim && 'dim', style.italic && 'i', style.underline && 'u'].filter(Boolean).join(' ');
    const css: Record<string, string> = {};
    if (style.fg) css.color = style.fg;
    if (style.bg) css.backgroundColor = style.bg;
    out.push(
      <span key={out.length} class={cls || undefined} style={css}>
        {chunk}
      </span>,
    );
  };
  for (const m of text.matchAll(SGR)) {
    push(text.slice(last, m.index));
    style = apply(style, (m[1] || '0').split(';').map((x) => Number(x) || 0));
    last = m.index! + m[0].length;
  }
  push(text.slice(last));
  return out;
}
