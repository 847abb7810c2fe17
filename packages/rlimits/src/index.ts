export { rlimitsFeature } from './feature.js';
export { RLIMIT_NAMES } from './options.js';
export type { RlimitName, RlimitSetting, RlimitValue, RlimitsOption, RlimitsOptions, RlimitsSettings } from './options.js';
export { RLIMIT, RLIM_INFINITY, STRICT_RLIMITS } from './consts.js';
export { normalizeRlimitsOptions } from './normalize.js';
export { rlimitsPlan } from './plan.js';
export { readRlimits } from './sys.js';
export { probeRlimits } from './probe.js';
export type { RlimitsProbe } from './probe.js';
