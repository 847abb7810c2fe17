// Kernel constants for capabilities, with names for explain().
import type { FlagTable } from '@iso/core';

/** prctl(2) options this package uses (include/uapi/linux/prctl.h). */
export const PR = {
  PR_SET_KEEPCAPS: 8,
  PR_CAPBSET_READ: 23,
  PR_CAPBSET_DROP: 24,
  PR_GET_SECUREBITS: 27,
  PR_SET_SECUREBITS: 28,
  PR_SET_NO_NEW_PRIVS: 38,
  PR_GET_NO_NEW_PRIVS: 39,
  PR_CAP_AMBIENT: 47,
} as const satisfies FlagTable;

/** PR_CAP_AMBIENT's second argument. */
export const PR_CAP_AMBIENT = {
  PR_CAP_AMBIENT_IS_SET: 1,
  PR_CAP_AMBIENT_RAISE: 2,
  PR_CAP_AMBIENT_LOWER: 3,
  PR_CAP_AMBIENT_CLEAR_ALL: 4,
} as const satisfies FlagTable;

/** Secure bits (include/uapi/linux/securebits.h). */
export const SECBIT = {
  SECBIT_NOROOT: 1 << 0,
  SECBIT_NOROOT_LOCKED: 1 << 1,
  SECBIT_NO_SETUID_FIXUP: 1 << 2,
  SECBIT_NO_SETUID_FIXUP_LOCKED: 1 << 3,
  SECBIT_KEEP_CAPS: 1 << 4,
  SECBIT_KEEP_CAPS_LOCKED: 1 << 5,
  SECBIT_NO_CAP_AMBIENT_RAISE: 1 << 6,
  SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED: 1 << 7,
} as const satisfies FlagTable;

/** _LINUX_CAPABILITY_VERSION_3: 64-bit sets, as two 32-bit halves (Linux 2.6.26+). */
export const LINUX_CAPABILITY_VERSION_3 = 0x20080522;
