export { utsFeature } from './feature.js';
export type { UtsOption, UtsOptions, UtsSettings } from './options.js';
export { MAX_NAME_BYTES, normalizeUtsOptions } from './normalize.js';
export { utsPlan } from './plan.js';
export { uname } from './sys.js';
export type { Utsname } from './sys.js';
export { probeUts, utsNamespaceId } from './probe.js';
export type { UtsProbe } from './probe.js';
