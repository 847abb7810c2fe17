// What a failed seccomp step means for the caller: a kernel too old for a flag, or a
// filter loaded without the privilege it needs.
import { withHint as refined } from '@iso/core';
import type { IsoError } from '@iso/core';
import { FILTER_FLAG_SINCE, SECCOMP_FILTER_FLAG, filterFlags } from './consts.js';
import type { SeccompSettings } from './options.js';

/**
 * Adds what the caller can act on to a failed seccomp.load: EINVAL names the filter flags
 * the settings asked for and the kernel each needs (ISO_UNSUPPORTED_KERNEL), EACCES the
 * privilege (ISO_NEEDS_PRIVILEGE). Other errors come back unchanged; the message is
 * prefixed, never replaced.
 */
export function refineSeccompError(error: IsoError, settings: SeccompSettings): IsoError {
  if (error.step !== 'seccomp.load') return error;
  switch (error.code) {
    case 'EACCES':
      return refined(error, 'ISO_NEEDS_PRIVILEGE', 'loading a filter needs no_new_privs (caps.noNewPrivs: true) or CAP_SYS_ADMIN kept');
    case 'ENOSYS':
      return refined(error, 'ISO_UNSUPPORTED_KERNEL', 'this kernel has no seccomp() system call (Linux 3.17+, CONFIG_SECCOMP)');
    case 'EINVAL': {
      const bits = filterFlags(settings) | (settings.notify ? SECCOMP_FILTER_FLAG.SECCOMP_FILTER_FLAG_NEW_LISTENER : 0);
      const asked = Object.entries(SECCOMP_FILTER_FLAG)
        .filter(([, bit]) => (bits & bit) !== 0)
        .map(([name, bit]) => `${name} (Linux ${FILTER_FLAG_SINCE[bit] ?? '?'}+)`);
      if (asked.length > 0) return refined(error, 'ISO_UNSUPPORTED_KERNEL', `the kernel refused the filter flags ${asked.join(', ')}`);
      return refined(error, 'ISO_UNSUPPORTED_KERNEL', 'the kernel refused the filter: it was built without seccomp filters (CONFIG_SECCOMP_FILTER)');
    }
    default:
      return error;
  }
}
