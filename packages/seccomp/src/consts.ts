// Kernel constants of seccomp(2) and its listener (include/uapi/linux/seccomp.h), shared
// by the planner and the native calls.
import type { SeccompFlags } from './options.js';

/** seccomp(2) operations. */
export const SECCOMP_SET_MODE = { SECCOMP_SET_MODE_STRICT: 0, SECCOMP_SET_MODE_FILTER: 1 } as const;

/** Flags of SECCOMP_SET_MODE_FILTER. */
export const SECCOMP_FILTER_FLAG = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
  SECCOMP_FILTER_FLAG_NEW_LISTENER: 8,
  SECCOMP_FILTER_FLAG_TSYNC_ESRCH: 16,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 32,
} as const;

/** The first kernel of each filter flag iso sets, for errors. */
export const FILTER_FLAG_SINCE: Readonly<Record<number, string>> = {
  [SECCOMP_FILTER_FLAG.SECCOMP_FILTER_FLAG_TSYNC]: '3.17',
  [SECCOMP_FILTER_FLAG.SECCOMP_FILTER_FLAG_LOG]: '4.14',
  [SECCOMP_FILTER_FLAG.SECCOMP_FILTER_FLAG_SPEC_ALLOW]: '4.17',
  [SECCOMP_FILTER_FLAG.SECCOMP_FILTER_FLAG_NEW_LISTENER]: '5.0',
};

/** The filter flag bits of `log` and `specAllow`. */
export function filterFlags(flags: Readonly<SeccompFlags>): number {
  return (flags.log ? SECCOMP_FILTER_FLAG.SECCOMP_FILTER_FLAG_LOG : 0) | (flags.specAllow ? SECCOMP_FILTER_FLAG.SECCOMP_FILTER_FLAG_SPEC_ALLOW : 0);
}

/** ioctl numbers of the listener, the same on every arch. */
export const SECCOMP_IOCTL_NOTIF = { RECV: 0xc0502100, SEND: 0xc0182101, ID_VALID: 0x40082102, ADDFD: 0x40182103 } as const;

/** seccomp_notif_resp.flags: run the call as if there were no filter (Linux 5.5+). */
export const SECCOMP_USER_NOTIF_FLAG_CONTINUE = 1;

/** seccomp_notif_addfd.flags: install the fd and answer the call with it (Linux 5.14+). */
export const SECCOMP_ADDFD_FLAG_SEND = 2;
