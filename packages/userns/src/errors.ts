import { withHint as refined } from '@iso/core';
import type { IsoError } from '@iso/core';
import type { UsernsSettings } from './options.js';
import { probeUserns, usernsDisabledError } from './probe.js';

const REFUSED = new Set(['EPERM', 'EACCES', 'ENOSPC', 'EUSERS']);
/** Steps that only fail when the kernel refuses user namespaces (or an LSM does, after the unshare). */
const DISABLED_STEPS = /^userns\.(unshare|setgroups\.|uidMap\.|gidMap\.)/;

/**
 * Adds what the caller can act on to a failed userns step (from launch's `ready`): a
 * refused userns.unshare becomes ISO_USERNS_DISABLED naming the knob; a failed join says
 * whether the process is gone or not the caller's; a refused credential says which id is
 * unmapped. Other errors come back unchanged. Prefixes, never replaces, the message.
 */
export function refineUsernsError(error: IsoError, settings?: UsernsSettings): IsoError {
  if (error.step === undefined || !error.step.startsWith('userns.')) return error;
  const { step, code } = error;
  if (REFUSED.has(code) && (step === 'userns.unshare' || (DISABLED_STEPS.test(step) && probeUserns().reasons.length > 0)))
    return usernsDisabledError(error);
  const join = settings?.join;
  const target = join?.pid === undefined ? (join?.path ?? 'the namespace file') : `process ${join.pid}`;
  switch (step) {
    case 'userns.join.open':
      if (code === 'ENOENT' || code === 'ESRCH') return refined(error, 'ISO_SETUP_FAILED', `${target} is gone`);
      if (code === 'EACCES' || code === 'EPERM')
        return refined(error, 'ISO_NEEDS_PRIVILEGE', `${target} belongs to another user or is protected (opening it needs ptrace read access); only root or the owner of its user namespace can join it`);
      break;
    case 'userns.join.setns':
      if (code === 'EPERM')
        return refined(
          error,
          'ISO_NEEDS_PRIVILEGE',
          `joining needs CAP_SYS_ADMIN in that user namespace: only root, or the user that created it (or one of its ancestors below yours), may join it`,
        );
      if (code === 'EINVAL')
        return refined(error, 'ISO_SETUP_FAILED', `${target === 'the namespace file' ? 'it' : target} is not a user namespace, or the runner is already in it`);
      break;
    case 'userns.join.setresuid':
    case 'userns.join.setresgid':
      if (code === 'EINVAL') return refined(error, 'ISO_SETUP_FAILED', `the joined user namespace does not map ${step.endsWith('uid') ? 'uid' : 'gid'} 0`);
      break;
    case 'userns.credentials.setgroups':
      if (code === 'EPERM') return refined(error, 'ISO_SETUP_FAILED', "setgroups(2) is denied in this user namespace (its /proc/<pid>/setgroups is 'deny')");
      if (code === 'EINVAL') return refined(error, 'ISO_SETUP_FAILED', 'a supplementary group is not mapped in this user namespace');
      break;
    case 'userns.credentials.setresgid':
    case 'userns.credentials.setresuid':
      if (code === 'EINVAL')
        return refined(error, 'ISO_SETUP_FAILED', `${step.endsWith('uid') ? 'userns.user' : 'userns.group'} is not mapped in this user namespace`);
      break;
    case 'userns.nested.limit.open':
    case 'userns.nested.limit.write':
      return refined(error, 'ISO_SETUP_FAILED', 'disableNested could not set user.max_user_namespaces inside the new user namespace');
    default:
      break;
  }
  return error;
}
