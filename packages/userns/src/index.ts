export type { HostIds, UsernsOption, UsernsOptions, UsernsSettings } from './options.js';
export { normalizeUsernsOptions, usernsPlan } from './plan.js';
export { mapToOutside, parseIdMap, readIdMaps } from './maps.js';
export type { IdMapRange, IdMaps } from './maps.js';
export { probeUserns, tryUserns, usernsDisabledError } from './probe.js';
export type { UsernsProbe } from './probe.js';
