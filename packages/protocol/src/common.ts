import { Type, type Static, type TSchema } from 'typebox';
import { BUILD_ENV_NAME_PATTERN, EnvValue } from './env-names.js';

/** Ids are a short type prefix plus a time-ordered random part; the pattern keeps path tricks out of every route. */
export const Id = (prefix: string) =>
  Type.String({ pattern: `^${prefix}_[0-9a-z]{26}$`, description: `${prefix}_ followed by 26 base-32 characters` });

/** Lower-case names for projects, orgs and tokens: safe in URLs, file names and logs. */
export const Name = Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,63}$', description: 'lower-case letters, digits, . _ -' });

export const Timestamp = Type.String({ format: 'date-time' });

export const Platform = Type.Union([Type.Literal('android'), Type.Literal('ios'), Type.Literal('web')]);
export type Platform = Static<typeof Platform>;
export const PLATFORMS: readonly Platform[] = ['android', 'ios', 'web'];

/**
 * A map whose keys must match `pattern`. (A pattern on a Record's key type only
 * selects which properties the value schema applies to; propertyNames rejects the rest.)
 */
const KeyedRecord = <V extends TSchema>(pattern: string, value: V, maxProperties: number) =>
  Type.Record(Type.String(), value, { propertyNames: { pattern }, maxProperties });

/**
 * Worker labels and a build's required labels: `xcode=16.2`, `arch=arm64`. Values are printable,
 * well-formed text: no C0 or C1 control character and no lone surrogate (PostgreSQL's jsonb, which the
 * queue's lane matching reads them as, refuses U+0000 and unpaired surrogates), and no bidirectional
 * override or isolate (a label shown in a list must read as what it is).
 */
export const Labels = KeyedRecord(
  '^[a-z0-9][a-z0-9._/-]{0,62}$',
  Type.String({ maxLength: 128, pattern: '^(?:[^\\x00-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069\\ud800-\\udfff]|[\\ud800-\\udbff][\\udc00-\\udfff])*$' }),
  64,
);
export type Labels = Static<typeof Labels>;

/** Environment for a build: variable names without the dangerous ones (see env-names.ts), values without NUL. */
export const EnvVars = KeyedRecord(BUILD_ENV_NAME_PATTERN, EnvValue(65536), 512);
export type EnvVars = Static<typeof EnvVars>;

export const Role = Type.Union([Type.Literal('admin'), Type.Literal('member'), Type.Literal('read-only')]);
export type Role = Static<typeof Role>;

export const Page = (maxLimit = 200) =>
  Type.Object({
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: maxLimit, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  });

export const Ok = Type.Object({ ok: Type.Literal(true) });

/** The header a worker sends with an artifact, and the controller with a download. */
export const SHA256_HEADER = 'x-buildmesh-sha256';
export const Sha256 = Type.String({ pattern: '^[0-9a-f]{64}$' });
