export type { MountOption, MountOptions } from './options.js';
export { mountPlan, normalizeMountOptions } from './plan.js';
export { parseMountInfo, readMountInfo } from './mountinfo.js';
export type { MountInfoEntry } from './mountinfo.js';
export { probeMount } from './probe.js';
export type { MountProbe } from './probe.js';
