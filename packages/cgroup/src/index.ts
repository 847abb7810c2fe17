export { cgroupFeature } from './feature.js';
export { Cgroup, createCgroup } from './cgroup.js';
export { ISO_CGROUP_NAME, cleanup, processAlive } from './cleanup.js';
export type { CleanupOptions, CleanupResult } from './cleanup.js';
export type {
  ByteSize,
  CgroupEvent,
  CgroupEventCounts,
  CgroupLimits,
  CgroupOption,
  CgroupOptions,
  CgroupPlacement,
  CgroupResult,
  CgroupSettings,
  CgroupUsage,
  CpuLimits,
  CpusetLimits,
  CreateCgroupOptions,
  IoDeviceLimit,
  MemoryLimits,
  NormalizedLimits,
  PidsLimits,
} from './options.js';
export { normalizeCgroupOptions } from './normalize.js';
export { normalizeLimits, parseByteSize, parseCpuList } from './limits.js';
export { cgroupPlan } from './plan.js';
export { detectLayout, ownCgroups } from './layout.js';
export type { CgroupLayout, CgroupMode, Hierarchy } from './layout.js';
export { CGROUP2_SUPER_MAGIC, CGROUP_SUPER_MAGIC, filesystemMagic } from './sys.js';
export { probeCgroup } from './probe.js';
export type { CgroupProbe, ControllerState } from './probe.js';
