import { constants } from 'node:os';
import { CLONE, MS, flags, nullPointer, str } from '@iso/core';
import type { StagedSteps } from '@iso/core';
import type { PidSettings } from './options.js';

/**
 * unshare(CLONE_NEWPID) moves only later children, so the runner forks: the child is
 * PID 1 and mounts /proc from inside (it must), the parent stays as the supervisor Node
 * sees. Unless asPid1, PID 1 forks again and stays as init; the target is PID 2.
 * Every process dies with its parent, and when PID 1 dies the kernel ends the rest.
 */
export function pidPlan(settings: PidSettings): StagedSteps {
  const plan: StagedSteps = {
    namespaces: [{ op: 'syscall', name: 'pid.unshare', syscall: 'unshare', args: [flags(CLONE.CLONE_NEWPID, CLONE)] }],
    pidFork: [
      { op: 'fork', name: 'pid.fork' },
      { op: 'dieWithParent', name: 'pid.dieWithSupervisor', signal: constants.signals.SIGKILL },
    ],
  };
  if (settings.mountProc) {
    plan.mounts = [
      {
        op: 'syscall',
        name: 'pid.mountProc',
        syscall: 'mount',
        args: [str('proc'), str('/proc'), str('proc'), flags(MS.MS_NOSUID | MS.MS_NODEV | MS.MS_NOEXEC, MS), nullPointer()],
      },
    ];
  }
  if (!settings.asPid1) {
    plan.initFork = [
      { op: 'fork', name: 'pid.init' },
      { op: 'dieWithParent', name: 'pid.dieWithInit', signal: constants.signals.SIGKILL },
    ];
  }
  return plan;
}
