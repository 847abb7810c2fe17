/**
 * Options of the `rlimits` key: resource limits (setrlimit(2)) for the target, set with
 * prlimit64 in the runner just before exec, so they bind the target and everything it
 * starts. A sandbox can only lower limits: a hard limit above the caller's own is refused.
 */
export const RLIMIT_NAMES = [
  'cpu',
  'fsize',
  'data',
  'stack',
  'core',
  'rss',
  'nproc',
  'nofile',
  'memlock',
  'as',
  'locks',
  'sigpending',
  'msgqueue',
  'nice',
  'rtprio',
  'rttime',
] as const;

/** A limit by its name in prlimit(1) and `ulimit`: 'nofile' is RLIMIT_NOFILE. */
export type RlimitName = (typeof RLIMIT_NAMES)[number];

/**
 * One limit: a number (soft and hard alike), 'unlimited', `{ soft, hard }`, or 'inherit'
 * to leave a default one as the caller has it. Byte limits (as, core, data, fsize,
 * memlock, msgqueue, rss, stack) also take '64k', '512m' or '2g'.
 */
export type RlimitValue = number | string | { soft: number | string; hard: number | string };

/**
 * Limits by name. `true` gives the strict defaults (`STRICT_RLIMITS`: no core dumps,
 * files of at most 1 GiB, 1024 open files, 1024 processes); an object sets those defaults
 * and then its own names over them.
 */
export type RlimitsOptions = { readonly [N in RlimitName]?: RlimitValue };

export type RlimitsOption = boolean | RlimitsOptions;

/** One limit after checking, as the kernel takes it (RLIM_INFINITY is 2^64-1). */
export interface RlimitSetting {
  readonly name: RlimitName;
  readonly resource: number;
  readonly soft: bigint;
  readonly hard: bigint;
}

/** The `rlimits` option after checking: the limits to set, in RLIMIT_* order. */
export interface RlimitsSettings {
  readonly limits: readonly RlimitSetting[];
}
