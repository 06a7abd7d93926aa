/** The CLI's exit statuses, documented in `buildmesh --help`; imports nothing, so `--version` can load it. */
export const EXIT = {
  ok: 0,
  /** Any error, and a build that failed. */
  failure: 1,
  /** Bad flags or arguments (commander's own errors use 1; ours use 2). */
  usage: 2,
  /** The build was canceled. */
  canceled: 3,
  /** The build ran past its timeout. */
  timedOut: 4,
  /** Interrupted with Ctrl-C while waiting; the build keeps running. */
  interrupted: 130,
} as const;
