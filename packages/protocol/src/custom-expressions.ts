/**
 * The expressions of EAS custom build configs: `${{ steps.<id>.outputs.<name> }}`, `${{ eas.* }}`,
 * `${{ env.NAME }}`, `${{ inputs.<name> }}` inside strings, and `if:` conditions such as
 * `${{ failure() }}` or `${{ success() && env.DEPLOY == 'yes' }}`. The older single-brace form EAS
 * also reads, `${ steps.x.outputs.y }` / `${ eas.… }` / `${ inputs.… }`, is interpolated too (only
 * with one of those three roots, so a shell's `${VAR}` is left alone).
 *
 * Grammar (a small, side-effect free subset of what EAS evaluates): literals ('text', "text",
 * numbers, true, false, null), references (`a.b.c`, `a['b']`), `!`, `==`, `!=`, `<`, `<=`, `>`,
 * `>=`, `&&`, `||` (JavaScript truthiness, `&&`/`||` yield an operand), parentheses, and the calls
 * success(), failure(), always(), cancelled(), contains(a, b), startsWith(a, b), endsWith(a, b),
 * fromJSON(text), toJSON(value). Parsed once when the config is validated; unknown roots and
 * functions are refused there.
 */

export type Expr =
  | { t: 'lit'; v: unknown }
  | { t: 'ref'; path: string[] }
  | { t: 'not'; e: Expr }
  | { t: 'bin'; op: string; l: Expr; r: Expr }
  | { t: 'call'; fn: string; args: Expr[] };

export class ExpressionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExpressionError';
  }
}

export const EXPRESSION_ROOTS = ['steps', 'eas', 'env', 'inputs'] as const;
const FUNCTIONS: Record<string, number> = { success: 0, failure: 0, always: 0, cancelled: 0, contains: 2, startsWith: 2, endsWith: 2, fromJSON: 1, toJSON: 1 };
const MAX_EXPRESSION = 4096;

type Token = { k: 'op' | 'str' | 'num' | 'id'; v: string };

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (['==', '!=', '<=', '>=', '&&', '||'].includes(two)) {
      tokens.push({ k: 'op', v: two });
      i += 2;
    } else if ('!<>().,[]'.includes(c)) {
      tokens.push({ k: 'op', v: c });
      i++;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      let text = '';
      while (j < src.length && src[j] !== c) {
        // '' inside a single-quoted string is a quote, as in GitHub-style expressions.
        if (src[j] === '\\' && j + 1 < src.length) {
          text += src[j + 1];
          j += 2;
        } else text += src[j++];
        if (j < src.length && src[j] === c && c === "'" && src[j + 1] === "'") {
          text += "'";
          j += 2;
        }
      }
      if (j >= src.length) throw new ExpressionError(`unterminated string in "${src}"`);
      tokens.push({ k: 'str', v: text });
      i = j + 1;
    } else if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const m = /^-?[0-9]+(\.[0-9]+)?/.exec(src.slice(i))!;
      tokens.push({ k: 'num', v: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(src.slice(i))!;
      tokens.push({ k: 'id', v: m[0] });
      i += m[0].length;
    } else throw new ExpressionError(`unexpected "${c}" in "${src}"`);
  }
  return tokens;
}

/** Parses one expression (without the `${{ }}`); throws ExpressionError naming what is wrong. */
export function parseExpression(src: string): Expr {
  if (src.length > MAX_EXPRESSION) throw new ExpressionError(`expression longer than ${MAX_EXPRESSION} characters`);
  const tokens = tokenize(src);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const isOp = (v: string): boolean => peek()?.k === 'op' && peek()!.v === v;
  const expect = (v: string): void => {
    if (!isOp(v)) throw new ExpressionError(`expected "${v}" in "${src}"`);
    pos++;
  };
  const binary = (next: () => Expr, ops: string[]): Expr => {
    let left = next();
    while (peek()?.k === 'op' && ops.includes(peek()!.v)) {
      const op = tokens[pos++]!.v;
      left = { t: 'bin', op, l: left, r: next() };
    }
    return left;
  };
  const or = (): Expr => binary(and, ['||']);
  const and = (): Expr => binary(cmp, ['&&']);
  const cmp = (): Expr => binary(unary, ['==', '!=', '<', '<=', '>', '>=']);
  const unary = (): Expr => {
    if (isOp('!')) {
      pos++;
      return { t: 'not', e: unary() };
    }
    return primary();
  };
  const primary = (): Expr => {
    const token = tokens[pos++];
    if (!token) throw new ExpressionError(`"${src}" ends too early`);
    if (token.k === 'str') return { t: 'lit', v: token.v };
    if (token.k === 'num') return { t: 'lit', v: Number(token.v) };
    if (token.k === 'op' && token.v === '(') {
      const inner = or();
      expect(')');
      return inner;
    }
    if (token.k !== 'id') throw new ExpressionError(`unexpected "${token.v}" in "${src}"`);
    if (token.v === 'true' || token.v === 'false') return { t: 'lit', v: token.v === 'true' };
    if (token.v === 'null') return { t: 'lit', v: null };
    if (isOp('(')) {
      pos++;
      const arity = FUNCTIONS[token.v];
      if (arity === undefined) throw new ExpressionError(`unknown function ${token.v}() in "${src}" (known: ${Object.keys(FUNCTIONS).join(', ')})`);
      const args: Expr[] = [];
      while (!isOp(')')) {
        args.push(or());
        if (!isOp(')')) expect(',');
      }
      pos++;
      if (args.length !== arity) throw new ExpressionError(`${token.v}() takes ${arity} argument${arity === 1 ? '' : 's'}`);
      return { t: 'call', fn: token.v, args };
    }
    if (!(EXPRESSION_ROOTS as readonly string[]).includes(token.v)) {
      throw new ExpressionError(`unknown name "${token.v}" in "${src}" (expressions read ${EXPRESSION_ROOTS.join(', ')})`);
    }
    const path = [token.v];
    for (;;) {
      if (isOp('.')) {
        pos++;
        const seg = tokens[pos++];
        if (seg?.k !== 'id' && seg?.k !== 'num') throw new ExpressionError(`expected a name after "." in "${src}"`);
        path.push(seg.v);
      } else if (isOp('[')) {
        pos++;
        const seg = tokens[pos++];
        if (seg?.k !== 'str' && seg?.k !== 'num') throw new ExpressionError(`expected a string or number inside [] in "${src}"`);
        path.push(seg.v);
        expect(']');
      } else break;
    }
    return { t: 'ref', path };
  };
  if (tokens.length === 0) throw new ExpressionError('empty expression');
  const expr = or();
  if (pos !== tokens.length) throw new ExpressionError(`unexpected "${tokens[pos]!.v}" in "${src}"`);
  return expr;
}

/** The values an expression reads, and the build's state for success()/failure()/always(). */
export interface ExpressionContext {
  steps: Record<string, { outputs: Record<string, string> }>;
  eas: Record<string, unknown>;
  env: Record<string, string>;
  inputs: Record<string, unknown>;
  /** A step has failed so far. */
  failed: boolean;
  /** The build is being stopped (canceled, timed out). */
  stopped: boolean;
}

function lookup(root: unknown, path: string[]): unknown {
  let value = root;
  for (const seg of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, seg)) return undefined;
    value = (value as Record<string, unknown>)[seg];
  }
  return value;
}

const text = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** Compares as EAS does for the usual cases: numbers with numbers, everything else as text. */
function compare(op: string, a: unknown, b: unknown): boolean {
  const numeric = typeof a === 'number' && typeof b === 'number';
  const x = numeric ? a : text(a);
  const y = numeric ? b : text(b);
  switch (op) {
    case '==':
      return x === y;
    case '!=':
      return x !== y;
    case '<':
      return x < y;
    case '<=':
      return x <= y;
    case '>':
      return x > y;
    default:
      return x >= y;
  }
}

export function evaluate(expr: Expr, ctx: ExpressionContext): unknown {
  switch (expr.t) {
    case 'lit':
      return expr.v;
    case 'ref':
      return lookup(ctx, expr.path);
    case 'not':
      return !evaluate(expr.e, ctx);
    case 'bin': {
      if (expr.op === '&&') {
        const l = evaluate(expr.l, ctx);
        return l ? evaluate(expr.r, ctx) : l;
      }
      if (expr.op === '||') {
        const l = evaluate(expr.l, ctx);
        return l ? l : evaluate(expr.r, ctx);
      }
      return compare(expr.op, evaluate(expr.l, ctx), evaluate(expr.r, ctx));
    }
    case 'call': {
      const a = expr.args.map((arg) => evaluate(arg, ctx));
      switch (expr.fn) {
        case 'success':
          return !ctx.failed && !ctx.stopped;
        case 'failure':
          return ctx.failed;
        case 'always':
          return true;
        case 'cancelled':
          return ctx.stopped;
        case 'contains':
          return Array.isArray(a[0]) ? a[0].map(text).includes(text(a[1])) : text(a[0]).includes(text(a[1]));
        case 'startsWith':
          return text(a[0]).startsWith(text(a[1]));
        case 'endsWith':
          return text(a[0]).endsWith(text(a[1]));
        case 'fromJSON':
          try {
            return JSON.parse(text(a[0])) as unknown;
          } catch {
            throw new ExpressionError(`fromJSON(): not JSON: ${text(a[0]).slice(0, 80)}`);
          }
        default:
          return JSON.stringify(a[0] ?? null);
      }
    }
  }
}

const TEMPLATE = /\$\{\{([\s\S]*?)\}\}|\$\{\s*((?:steps|eas|inputs)\.[^}\s]*)\s*\}/g;

/** Every expression embedded in a string, parsed (for validation at parse time). */
export function parseTemplate(source: string): Expr[] {
  return [...source.matchAll(TEMPLATE)].map((m) => parseExpression((m[1] ?? m[2] ?? '').trim()));
}

/** The string with each `${{ expr }}` (and legacy `${ steps.… }`) replaced by its value as text. */
export function interpolate(source: string, ctx: ExpressionContext): string {
  return source.replace(TEMPLATE, (_all, full: string | undefined, legacy: string | undefined) => text(evaluate(parseExpression((full ?? legacy ?? '').trim()), ctx)));
}

/**
 * An `if:` condition: `${{ expr }}` (the usual form) or a bare expression. A value that is one
 * template yields the expression's value, so `${{ failure() }}` is false, not the text "false".
 */
export function parseCondition(source: string): Expr {
  const whole = /^\s*\$\{\{([\s\S]*)\}\}\s*$/.exec(source);
  return parseExpression((whole ? whole[1]! : source).trim());
}

/** Values the way `interpolate` renders them, for inputs that are not strings. */
export function expressionText(value: unknown): string {
  return text(value);
}
