export { timeFeature } from './feature.js';
export type { ClockOffset, TimeOption, TimeOptions, TimeSettings } from './options.js';
export { MAX_CLOCK_SECONDS, TIME_NAMESPACE_KERNEL, normalizeTimeOptions } from './normalize.js';
export { formatTimeOffsets, timePlan } from './plan.js';
export { CLOCK, clockNow } from './sys.js';
export type { NamespacedClock } from './sys.js';
export { probeTime, readTimeOffsets, timeNamespaceId } from './probe.js';
export { readTimeOffsetNanoseconds } from './offsets.js';
export type { TimeProbe } from './probe.js';
