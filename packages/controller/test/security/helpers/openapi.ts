/**
 * The routes as the controller serves them (`GET /v1/openapi.json`), so the security suite covers a
 * new route without being edited: each operation with its path and query parameters, its JSON body
 * schema, and a generator of valid sample values from those schemas (what a well-formed request
 * looks like, so a refusal proves the check under test, not a validation error in front of it).
 */

export type JsonSchema = {
  $ref?: string;
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  minItems?: number;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  pattern?: string;
  format?: string;
  default?: unknown;
  minProperties?: number;
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  patternProperties?: Record<string, JsonSchema>;
};

export interface Param {
  in: 'path' | 'query' | 'header';
  name: string;
  required: boolean;
  schema: JsonSchema;
}

export interface Operation {
  method: string;
  /** OpenAPI form: /v1/builds/{id} */
  path: string;
  params: Param[];
  /** The application/json body schema, if the route declares one. */
  body: JsonSchema | undefined;
  bodyRequired: boolean;
}

interface OpenApiDoc {
  paths: Record<string, Record<string, { parameters?: Param[]; requestBody?: { required?: boolean; content: Record<string, { schema: JsonSchema }> } }>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

export async function loadOperations(url: string): Promise<{ operations: Operation[]; resolve: (s: JsonSchema) => JsonSchema }> {
  const response = await fetch(`${url}/v1/openapi.json`);
  if (!response.ok) throw new Error(`GET /v1/openapi.json answered ${response.status}`);
  const doc = (await response.json()) as OpenApiDoc;
  const resolve = (s: JsonSchema): JsonSchema => {
    if (!s.$ref) return s;
    const name = s.$ref.replace('#/components/schemas/', '');
    const target = doc.components?.schemas?.[name];
    if (!target) throw new Error(`unresolved ${s.$ref}`);
    return resolve(target);
  };
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (!['get', 'post', 'put', 'delete', 'patch'].includes(method)) continue;
      const json = op.requestBody?.content['application/json'];
      operations.push({
        method: method.toUpperCase(),
        path,
        params: (op.parameters ?? []).map((p) => ({ ...p, schema: resolve(p.schema) })),
        body: json ? resolve(json.schema) : undefined,
        bodyRequired: op.requestBody?.required === true,
      });
    }
  }
  return { operations, resolve };
}

/** Fills `{name}` placeholders; values are URL-encoded unless `raw`. */
export function fillPath(path: string, values: Record<string, string>, raw: ReadonlySet<string> = new Set()): string {
  return path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for {${name}} in ${path}`);
    return raw.has(name) ? value : encodeURIComponent(value);
  });
}

/** Strings tried, in order, against a pattern; the first that matches is the sample. */
const PATTERN_CANDIDATES = ['alpha', 'API_KEY', 'a', 'A', 'x1', 'app.apk', '0'.repeat(64), 'AAAA', 'X', 'k=v', '1', 'https://example.com/hook', 'http://example.com/', 'a@example.com', '1.0.0'];

function sampleString(s: JsonSchema): string {
  if (s.format === 'date-time') return new Date().toISOString();
  if (s.pattern) {
    const re = new RegExp(s.pattern, 'u');
    const id = /^\^([a-z]{3})_\[0-9a-z\]\{26\}\$$/.exec(s.pattern);
    if (id) return `${id[1]}_${'0'.repeat(26)}`;
    // No candidate fits a new pattern: the route is still attacked, its "valid" request just answers 400.
    return PATTERN_CANDIDATES.find((c) => re.test(c)) ?? 'x';
  }
  return 'x'.repeat(Math.max(s.minLength ?? 1, 1));
}

/** A valid value for the schema: every property (optional ones too, at their smallest), first alternatives. */
export function sample(schema: JsonSchema, resolve: (s: JsonSchema) => JsonSchema): unknown {
  const s = resolve(schema);
  if (s.const !== undefined) return s.const;
  if (s.enum) return s.enum[0];
  if (s.anyOf || s.oneOf) {
    const options = (s.anyOf ?? s.oneOf)!.map(resolve);
    return sample(options.find((o) => o.type !== 'null') ?? options[0]!, resolve);
  }
  if (s.allOf) return Object.assign({}, ...s.allOf.map((part) => sample(part, resolve) as object));
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [name, prop] of Object.entries(s.properties ?? {})) out[name] = sample(prop, resolve);
      return out;
    }
    case 'array':
      return Array.from({ length: Math.max(s.minItems ?? 0, s.items ? 1 : 0) }, () => sample(s.items!, resolve));
    case 'string':
      return sampleString(s);
    case 'integer':
    case 'number':
      return s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : 0);
    case 'boolean':
      return false;
    case 'null':
      return null;
    default:
      return {};
  }
}

/** Every leaf of a sample value, as a path of keys (for per-field mutations). */
export function leaves(value: unknown, path: Array<string | number> = []): Array<Array<string | number>> {
  if (Array.isArray(value)) return value.length === 0 ? [path] : value.flatMap((v, i) => leaves(v, [...path, i]));
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    return entries.length === 0 ? [path] : entries.flatMap(([k, v]) => leaves(v, [...path, k]));
  }
  return [path];
}

/** A deep copy of `value` with the leaf at `path` replaced (or removed when `replacement` is REMOVE). */
export const REMOVE = Symbol('remove');
export function withLeaf(value: unknown, path: Array<string | number>, replacement: unknown): unknown {
  if (path.length === 0) return replacement === REMOVE ? undefined : replacement;
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<string | number, unknown>;
  const [head, ...rest] = path as [string | number, ...Array<string | number>];
  if (rest.length === 0 && replacement === REMOVE) delete copy[head];
  else copy[head] = withLeaf(copy[head], rest, replacement);
  return copy;
}
