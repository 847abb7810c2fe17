import { defineStruct } from '@iso/core';

/**
 * struct landlock_ruleset_attr. It grew with the ABI: handled_access_net came with 4 and
 * scoped with 6, and the kernel takes the size the caller passes (rulesetAttrSize).
 */
export const rulesetAttrStruct = defineStruct('landlock_ruleset_attr', [
  ['handled_access_fs', 'u64'],
  ['handled_access_net', 'u64'],
  ['scoped', 'u64'],
] as const);

/** The size of landlock_ruleset_attr a kernel at `abi` knows. */
export function rulesetAttrSize(abi: number): number {
  return abi >= 6 ? 24 : abi >= 4 ? 16 : 8;
}

/**
 * struct landlock_path_beneath_attr: packed, 12 bytes. This layout pads it to 16; the
 * kernel reads only the first 12.
 */
export const pathBeneathAttrStruct = defineStruct('landlock_path_beneath_attr', [
  ['allowed_access', 'u64'],
  ['parent_fd', 'i32'],
] as const);

/** struct landlock_net_port_attr. */
export const netPortAttrStruct = defineStruct('landlock_net_port_attr', [
  ['allowed_access', 'u64'],
  ['port', 'u64'],
] as const);
