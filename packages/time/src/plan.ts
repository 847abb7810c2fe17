import { constants } from 'node:os';
import { AT_FDCWD, CLONE, O, bytes, flags, imm, result, str } from '@iso/core';
import type { StagedSteps } from '@iso/core';
import type { ClockOffset, TimeSettings } from './options.js';

const isZero = (offset: ClockOffset) => offset.seconds === 0n && offset.nanoseconds === 0;

/** The text of /proc/self/timens_offsets for these offsets: one "<clock> <secs> <nanosecs>" line each. */
export function formatTimeOffsets(settings: TimeSettings): string {
  return (['monotonic', 'boottime'] as const)
    .filter((clock) => !isZero(settings[clock]))
    .map((clock) => `${clock} ${settings[clock].seconds} ${settings[clock].nanoseconds}\n`)
    .join('');
}

/**
 * unshare(CLONE_NEWTIME) puts only the caller's later children in the new namespace, and
 * its offsets can be written only until a process enters it: so the offsets go right
 * after the unshare, and without a PID namespace (whose fork serves), a fork of its own
 * moves the rest of the setup and the target in. `withPidFork`: a PID namespace forks.
 *
 * The offsets file is opened first of all, in 'prepare': the kernel checks CAP_SYS_TIME
 * against the opener's credentials, and the caller's hold it over the sandbox's user
 * namespace (root, or that namespace's owner). Later, after a root caller's switch to
 * the mapped ids, the runner is no longer dumpable and cannot open its own /proc/self files.
 */
export function timePlan(settings: TimeSettings, withPidFork: boolean): StagedSteps {
  const offsets = formatTimeOffsets(settings);
  const plan: StagedSteps = {
    namespaces: [{ op: 'syscall', name: 'time.unshare', syscall: 'unshare', args: [flags(CLONE.CLONE_NEWTIME, CLONE)] }],
  };
  if (offsets !== '') {
    const fd = 'time.offsets.fd';
    const text = Buffer.from(offsets);
    plan.prepare = [
      {
        op: 'syscall',
        name: 'time.offsets.open',
        syscall: 'openat',
        args: [flags(AT_FDCWD, { AT_FDCWD }), str('/proc/self/timens_offsets'), flags(O.O_WRONLY | O.O_CLOEXEC, O)],
        saveAs: fd,
      },
    ];
    plan.namespaces = [
      ...(plan.namespaces ?? []),
      { op: 'syscall', name: 'time.offsets.write', syscall: 'write', args: [result(fd), bytes(text, JSON.stringify(offsets)), imm(text.length)] },
      { op: 'syscall', name: 'time.offsets.close', syscall: 'close', args: [result(fd)] },
    ];
  }
  if (!withPidFork)
    plan.pidFork = [
      { op: 'fork', name: 'time.fork' },
      { op: 'dieWithParent', name: 'time.dieWithSupervisor', signal: constants.signals.SIGKILL },
    ];
  return plan;
}
