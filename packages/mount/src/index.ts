export { mountFeature } from './feature.js';
export type {
  BindEntry,
  DevEntry,
  DirEntry,
  FileEntry,
  IdmapOption,
  MountContext,
  MountDirRoot,
  MountEntry,
  MountEntryType,
  MountFlags,
  MountOption,
  MountOptions,
  MountOverlayRoot,
  MountRoot,
  MountSettings,
  MqueueEntry,
  ProcEntry,
  SymlinkEntry,
  TmpfsEntry,
} from './options.js';
export { currentMountContext, normalizeMountOptions } from './normalize.js';
export { DEV_LINKS, DEV_NODES, MASKED_PATHS, READONLY_PATHS, mountPlan } from './plan.js';
export { probeMount } from './probe.js';
export type { MountProbe } from './probe.js';
export { bindMount, mountTmpfs, setMountAttributes, unmount } from './host.js';
export type { BindMountOptions, MountAttributes, TmpfsOptions, UnmountOptions } from './host.js';
export { parseMountInfo, readMountInfo } from './mountinfo.js';
export type { MountInfoEntry } from './mountinfo.js';
export { mountAttrStruct, openHowStruct } from './structs.js';
