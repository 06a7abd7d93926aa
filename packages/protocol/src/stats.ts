/** GET /v1/stats: how an org's builds fared over a window, per platform and profile. */
import { Type, type Static } from 'typebox';
import { Timestamp } from './common.js';

export const StatsQuery = Type.Object({
  /** The window, ending now: 1–90 days in hours (default 168 = 7 days). */
  hours: Type.Optional(Type.Integer({ minimum: 1, maximum: 2160, default: 168 })),
});
export type StatsQuery = Static<typeof StatsQuery>;

const Durations = Type.Object({ p50Seconds: Type.Union([Type.Number(), Type.Null()]), p90Seconds: Type.Union([Type.Number(), Type.Null()]) });

export const StatsGroup = Type.Object({
  platform: Type.String(),
  profile: Type.String(),
  /** Builds that ended in the window, by outcome. */
  total: Type.Integer(),
  succeeded: Type.Integer(),
  failed: Type.Integer(),
  canceled: Type.Integer(),
  timedOut: Type.Integer(),
  /** succeeded / (succeeded + failed + timedOut); null when none of those. Canceled builds do not count. */
  successRate: Type.Union([Type.Number(), Type.Null()]),
  /** Run time (first start to end) of succeeded and failed builds. */
  duration: Durations,
  /** Submit to first start. */
  queueWait: Durations,
  /** Per phase the workers reported. */
  phases: Type.Array(Type.Object({ name: Type.String(), count: Type.Integer(), p50Seconds: Type.Number(), p90Seconds: Type.Number() })),
});
export type StatsGroup = Static<typeof StatsGroup>;

export const Stats = Type.Object({
  since: Timestamp,
  until: Timestamp,
  /** True when the window held more builds than are read (the newest 50,000 are). */
  truncated: Type.Boolean(),
  groups: Type.Array(StatsGroup),
});
export type Stats = Static<typeof Stats>;
