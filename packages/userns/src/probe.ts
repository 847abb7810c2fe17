import { readFileSync } from 'node:fs';
import { CLONE, IsoError, buildProgram, flags, hostArch, launch } from '@iso/core';

export interface UsernsProbe {
  /** Whether this caller can create a user namespace, as far as the sysctls tell. */
  allowed: boolean;
  /** What stands in the way, each with what to change. Empty when allowed. */
  reasons: string[];
  sysctls: {
    maxUserNamespaces?: number;
    unprivilegedUsernsClone?: number;
    apparmorRestrictUnprivilegedUserns?: number;
  };
}

function readNumber(path: string): number | undefined {
  try {
    return Number(readFileSync(path, 'utf8').trim());
  } catch {
    return undefined;
  }
}

/** Reads the knobs that govern user namespaces here, and says which one blocks this caller. */
export function probeUserns(uid: number = process.getuid?.() ?? 0): UsernsProbe {
  const sysctls: UsernsProbe['sysctls'] = {};
  const max = readNumber('/proc/sys/user/max_user_namespaces');
  const clone = readNumber('/proc/sys/kernel/unprivileged_userns_clone');
  const apparmor = readNumber('/proc/sys/kernel/apparmor_restrict_unprivileged_userns');
  if (max !== undefined) sysctls.maxUserNamespaces = max;
  if (clone !== undefined) sysctls.unprivilegedUsernsClone = clone;
  if (apparmor !== undefined) sysctls.apparmorRestrictUnprivilegedUserns = apparmor;
  const reasons: string[] = [];
  if (max === undefined) reasons.push('this kernel has no user namespaces (/proc/sys/user/max_user_namespaces is missing; needs CONFIG_USER_NS)');
  else if (max === 0) reasons.push('user.max_user_namespaces is 0; set it above 0 (sysctl -w user.max_user_namespaces=15000)');
  if (uid !== 0 && clone === 0)
    reasons.push('kernel.unprivileged_userns_clone is 0, so only root may create user namespaces; set it to 1 or run as root');
  if (uid !== 0 && apparmor === 1)
    reasons.push(
      "kernel.apparmor_restrict_unprivileged_userns is 1 (Ubuntu): give node an AppArmor profile with the 'userns,' rule, or set the sysctl to 0",
    );
  return { allowed: reasons.length === 0, reasons, sysctls };
}

/** Tries it for real: the runner creates a user namespace and exits. Resolves to the errno or 0. */
export async function tryUserns(): Promise<{ allowed: boolean; errno: number; code: string | undefined }> {
  const program = buildProgram(
    [{ op: 'syscall', name: 'userns.unshare', syscall: 'unshare', args: [flags(CLONE.CLONE_NEWUSER, CLONE)] }],
    hostArch(),
  );
  const { child, ready } = launch(program, { stdio: ['ignore', 'ignore', 'ignore'] });
  const exited = new Promise<void>((resolve) => child.once('close', () => { resolve(); }));
  try {
    await ready;
    await exited;
    return { allowed: true, errno: 0, code: undefined };
  } catch (error) {
    await exited;
    if (error instanceof IsoError && error.errno !== undefined) return { allowed: false, errno: error.errno, code: error.code };
    throw error;
  }
}

/** ISO_USERNS_DISABLED for a failed userns.unshare step, naming the knob to turn. */
export function usernsDisabledError(cause: IsoError): IsoError {
  const probe = probeUserns();
  const why = probe.reasons.length
    ? probe.reasons.join('; ')
    : 'no sysctl explains it: a seccomp filter (a container runtime) or a chroot may forbid it';
  return new IsoError('ISO_USERNS_DISABLED', `user namespaces are not available to this process: ${why} (${cause.message})`, {
    ...(cause.errno === undefined ? {} : { errno: cause.errno, errnoCode: cause.code }),
    syscall: 'unshare',
    step: cause.step ?? 'userns.unshare',
    ...(cause.stepIndex === undefined ? {} : { stepIndex: cause.stepIndex }),
    phase: 'child',
    cause,
  });
}
