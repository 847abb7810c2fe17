import { RLIMIT_NAMES } from './options.js';
import type { RlimitName } from './options.js';

/** RLIM_INFINITY: no limit. */
export const RLIM_INFINITY = 2n ** 64n - 1n;

/** RLIMIT_* numbers: the same on x86_64 and aarch64 (the generic ones), in name order. */
export const RLIMIT: Readonly<Record<RlimitName, number>> = Object.fromEntries(RLIMIT_NAMES.map((name, i) => [name, i])) as Record<RlimitName, number>;

/** explain()'s names for the resource argument. */
export const RLIMIT_TABLE: Readonly<Record<string, number>> = Object.fromEntries(RLIMIT_NAMES.map((name, i) => [`RLIMIT_${name.toUpperCase()}`, i]));

/** The limits counted in bytes, which take k/m/g suffixes. */
export const BYTE_LIMITS: ReadonlySet<RlimitName> = new Set(['as', 'core', 'data', 'fsize', 'memlock', 'msgqueue', 'rss', 'stack']);

/** What each one counts, for messages. */
export const UNITS: Readonly<Record<RlimitName, string>> = {
  cpu: 'seconds of CPU time',
  fsize: 'bytes',
  data: 'bytes',
  stack: 'bytes',
  core: 'bytes',
  rss: 'bytes',
  nproc: 'processes',
  nofile: 'open files',
  memlock: 'bytes',
  as: 'bytes',
  locks: 'locks',
  sigpending: 'signals',
  msgqueue: 'bytes',
  nice: 'a ceiling of 20 - nice, 0 to 40',
  rtprio: 'a priority, 0 to 99',
  rttime: 'microseconds',
};

/**
 * The strict defaults: no core dumps (they can hold secrets, and fill disks), no file over
 * 1 GiB, 1024 open files and 1024 processes (a fork bomb ends there; in the sandbox's own
 * user namespace the count is the sandbox's, Linux 5.14+).
 */
export const STRICT_RLIMITS: Readonly<Partial<Record<RlimitName, number>>> = {
  core: 0,
  fsize: 2 ** 30,
  nofile: 1024,
  nproc: 1024,
};
