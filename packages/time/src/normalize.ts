import { IsoError, describeValue, invalidOptions, kernelAtLeast } from '@iso/core';
import type { HostFacts } from '@iso/core';
import type { ClockOffset, TimeOption, TimeSettings } from './options.js';
import { readTimeOffsetNanoseconds } from './offsets.js';
import { clockNow } from './sys.js';
import type { NamespacedClock } from './sys.js';

/** Time namespaces came with Linux 5.6. */
export const TIME_NAMESPACE_KERNEL = [5, 6] as const;
/**
 * The kernel refuses an offset that takes a clock past KTIME_SEC_MAX / 2 seconds or below
 * 0 (kernel/time/namespace.c): KTIME_SEC_MAX is 2^63 ns in seconds, 9223372036.
 */
export const MAX_CLOCK_SECONDS = 4611686018;

const KEYS = new Set(['monotonic', 'boottime']);
const ZERO: ClockOffset = { seconds: 0n, nanoseconds: 0 };

/**
 * The offset to write for `value` seconds on `clock`. The kernel takes offsets from the
 * initial namespace's clocks, so the caller's own offset (when Node runs in a time
 * namespace itself) is added: inside then reads the caller's clock plus `value`.
 */
function offsetOf(value: unknown, clock: NamespacedClock, now: () => bigint, callerOffset: bigint): ClockOffset {
  const path = `time.${clock}`;
  if ((value === undefined || value === 0) && callerOffset === 0n) return ZERO;
  if (value === undefined) value = 0;
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw invalidOptions(path, `expected a number of seconds, got ${describeValue(value)}`);
  if (Math.abs(value) > MAX_CLOCK_SECONDS) throw invalidOptions(path, `an offset is at most ±${MAX_CLOCK_SECONDS} seconds, got ${value}`);
  const given = BigInt(Math.round(value * 1e9));
  const total = given + callerOffset;
  // timens_offsets wants nanoseconds in 0..999999999, with the sign in the seconds.
  const nanoseconds = ((total % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
  const offset = { seconds: (total - nanoseconds) / 1_000_000_000n, nanoseconds: Number(nanoseconds) };
  const shifted = now() + given;
  if (shifted < 0n)
    throw invalidOptions(path, `${value} seconds takes CLOCK_${clock.toUpperCase()} below 0 (it reads ${Number(now() / 1_000_000n) / 1000} s here)`);
  if (shifted / 1_000_000_000n > BigInt(MAX_CLOCK_SECONDS)) throw invalidOptions(path, `${value} seconds takes CLOCK_${clock.toUpperCase()} past ${MAX_CLOCK_SECONDS} s`);
  return offset;
}

/**
 * Checks the `time` option against this kernel and its clocks; undefined when it is off.
 * Throws ISO_INVALID_OPTIONS for a bad offset, ISO_UNSUPPORTED_KERNEL before Linux 5.6.
 */
export function normalizeTimeOptions(
  option: TimeOption | undefined,
  host: Pick<HostFacts, 'kernel' | 'kernelRelease'>,
  now: (clock: NamespacedClock) => bigint = clockNow,
  callerOffsets: Record<NamespacedClock, bigint> = readTimeOffsetNanoseconds('self'),
): TimeSettings | undefined {
  if (option === undefined || option === false) return undefined;
  if (option !== true && (typeof option !== 'object' || option === null || Array.isArray(option))) throw invalidOptions('time', 'expected true, false or an object');
  const given = option === true ? {} : option;
  for (const key of Object.keys(given)) if (!KEYS.has(key)) throw invalidOptions(`time.${key}`, 'unknown option');
  if (!kernelAtLeast(host.kernel, TIME_NAMESPACE_KERNEL))
    throw new IsoError('ISO_UNSUPPORTED_KERNEL', `time: time namespaces need Linux ${TIME_NAMESPACE_KERNEL.join('.')}+ (CONFIG_TIME_NS); this is ${host.kernelRelease}`, {
      phase: 'validate',
      path: 'time',
    });
  return {
    monotonic: offsetOf(given.monotonic, 'monotonic', () => now('monotonic'), callerOffsets.monotonic),
    boottime: offsetOf(given.boottime, 'boottime', () => now('boottime'), callerOffsets.boottime),
  };
}
