/**
 * Options of the `time` key: a time namespace (Linux 5.6+, CONFIG_TIME_NS), so the
 * sandbox has its own CLOCK_MONOTONIC and CLOCK_BOOTTIME (and their _RAW, _COARSE and
 * _ALARM variants), shifted by the offsets given here. CLOCK_REALTIME is not namespaced:
 * the wall clock stays the host's. A time namespace applies to the children of the
 * process that made it, so the runner forks once for it when there is no PID namespace
 * (whose fork serves both).
 */
export interface TimeOptions {
  /**
   * Seconds added to the caller's CLOCK_MONOTONIC inside (fractions down to nanoseconds;
   * negative allowed, as long as the clock stays at 0 or above). Relative to the caller's
   * clock even when Node runs in a time namespace of its own.
   * @defaultValue 0
   */
  monotonic?: number;
  /**
   * Seconds added to the caller's CLOCK_BOOTTIME inside, which /proc/uptime shows.
   * @defaultValue 0
   */
  boottime?: number;
}

export type TimeOption = boolean | TimeOptions;

/** One clock's offset as the kernel takes it: whole seconds and nanoseconds (0 to 999999999). */
export interface ClockOffset {
  seconds: bigint;
  nanoseconds: number;
}

/** The `time` option after checking. */
export interface TimeSettings {
  monotonic: ClockOffset;
  boottime: ClockOffset;
}
