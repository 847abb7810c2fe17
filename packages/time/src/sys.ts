// Native calls of @iso/time, in-process: reading the caller's clocks.
import { checked, libc } from '@iso/core/native';

/** The clocks a time namespace shifts, with their clockid_t (the same on x86_64 and aarch64). */
export const CLOCK = { monotonic: 1, boottime: 7 } as const;
export type NamespacedClock = keyof typeof CLOCK;

type ClockGettime = (clock: number, timespec: Buffer) => number;
let clockGettimeFunction: ClockGettime | undefined;

/** clock_gettime(2) of this process's time namespace, in nanoseconds. */
export function clockNow(clock: NamespacedClock): bigint {
  clockGettimeFunction ??= libc().func('int clock_gettime(int clock, void *timespec)') as ClockGettime;
  const call = clockGettimeFunction;
  const timespec = Buffer.alloc(16); // struct timespec: s64 tv_sec, long tv_nsec
  checked('clock_gettime', { step: 'time.clockNow', call: `clock_gettime(CLOCK_${clock.toUpperCase()})` }, () => call(CLOCK[clock], timespec));
  return timespec.readBigInt64LE(0) * 1_000_000_000n + timespec.readBigInt64LE(8);
}
