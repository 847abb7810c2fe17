import { defineStruct } from '@iso/core';

/** struct open_how (openat2(2), Linux 5.6+): 24 bytes, OPEN_HOW_SIZE_VER0. */
export const openHowStruct = defineStruct('open_how', [
  ['flags', 'u64'],
  ['mode', 'u64'],
  ['resolve', 'u64'],
] as const);

/** struct mount_attr (mount_setattr(2), Linux 5.12+): 32 bytes, MOUNT_ATTR_SIZE_VER0. */
export const mountAttrStruct = defineStruct('mount_attr', [
  ['attr_set', 'u64'],
  ['attr_clr', 'u64'],
  ['propagation', 'u64'],
  ['userns_fd', 'u64'],
] as const);
