/**
 * Trust-rule conditions, parsed by hand (no eval): clauses `claim == "value"` or `claim != "value"`
 * joined by `&&`. A `*` in the value matches any run of characters (`refs/heads/release-*`); every
 * other character is literal (`\"` and `\\` escape). A claim that is absent or not a string never
 * equals anything, so `!=` on it is false too: a rule never matches by a claim's absence.
 */

export interface Clause {
  claim: string;
  negated: boolean;
  value: string;
}

export class ConditionError extends Error {}

const CLAIM = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}/;
const MAX_CLAUSES = 16;

export function parseCondition(text: string): Clause[] {
  const clauses: Clause[] = [];
  let i = 0;
  const skip = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n')) i++;
  };
  for (;;) {
    skip();
    const name = CLAIM.exec(text.slice(i))?.[0];
    if (!name) throw new ConditionError(`expected a claim name at position ${i + 1}`);
    i += name.length;
    skip();
    const op = text.slice(i, i + 2);
    if (op !== '==' && op !== '!=') throw new ConditionError(`expected == or != after ${name}`);
    i += 2;
    skip();
    if (text[i] !== '"') throw new ConditionError(`expected a "quoted value" after ${name} ${op}`);
    i++;
    let value = '';
    for (;;) {
      if (i >= text.length) throw new ConditionError(`unterminated string after ${name} ${op}`);
      const ch = text[i]!;
      if (ch === '"') break;
      if (ch === '\\') {
        const next = text[i + 1];
        if (next !== '"' && next !== '\\') throw new ConditionError('only \\" and \\\\ may be escaped');
        value += next;
        i += 2;
        continue;
      }
      value += ch;
      i++;
    }
    i++;
    clauses.push({ claim: name, negated: op === '!=', value });
    if (clauses.length > MAX_CLAUSES) throw new ConditionError(`at most ${MAX_CLAUSES} clauses`);
    skip();
    if (i === text.length) return clauses;
    if (text.slice(i, i + 2) !== '&&') throw new ConditionError(`expected && or the end at position ${i + 1}`);
    i += 2;
  }
}

/** `*` matches any run of characters; linear-time (greedy with one backtrack point), no regex built from input. */
export function globMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = t;
    } else if (star !== -1) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

export function conditionMatches(clauses: readonly Clause[], claims: Record<string, unknown>): boolean {
  return clauses.every((c) => {
    const actual = Object.prototype.hasOwnProperty.call(claims, c.claim) ? claims[c.claim] : undefined;
    if (typeof actual !== 'string') return false;
    return globMatches(c.value, actual) !== c.negated;
  });
}
