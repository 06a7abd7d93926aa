/** Validation outside Fastify's own (multipart fields): the same TypeBox schemas, the same error shape. */
import type { Static, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { ApiError } from '@buildmesh/protocol';

export interface ValidationIssue {
  keyword?: string;
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** `body/profile/foo: must not have additional properties` — the field path first, then what is wrong. */
export function describeIssues(where: string, issues: readonly ValidationIssue[]): string {
  // TypeBox reports an extra property twice (as `schema is false` and as additionalProperties): keep the clearer one.
  const first = issues.find((i) => i.keyword === 'additionalProperties') ?? issues.find((i) => i.keyword !== 'boolean') ?? issues[0];
  if (!first) return `${where}: is not valid`;
  let path = first.instancePath ?? '';
  const extra = first.params?.additionalProperties;
  if (Array.isArray(extra) && extra.length > 0) path += `/${String(extra[0])}`;
  return `${where}${path}: ${first.message ?? 'is not valid'}`;
}

export interface Checker<T extends TSchema> {
  /** Returns the value typed, or throws 400 VALIDATION_FAILED naming the first bad field under `where`. */
  check(value: unknown, where: string): Static<T>;
}

/** Compiled on its first check, not at start-up (docs/fast-start.md). */
export function compileChecker<T extends TSchema>(schema: T): Checker<T> {
  let compiled: { Check(value: unknown): boolean; Errors(value: unknown): unknown } | undefined;
  return {
    check(value, where) {
      compiled ??= Compile(schema);
      if (compiled.Check(value)) return value as Static<T>;
      throw new ApiError('VALIDATION_FAILED', describeIssues(where, compiled.Errors(value) as ValidationIssue[]));
    },
  };
}
