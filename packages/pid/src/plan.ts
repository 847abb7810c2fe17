import { constants } from 'node:os';
import { CLONE, MS, flags, invalidOptions, nullPointer, str } from '@iso/core';
import type { StagedSteps } from '@iso/core';
import type { PidOption, PidOptions } from './options.js';

export function normalizePidOptions(option: PidOption | undefined): Required<PidOptions> | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return { asPid1: false, mountProc: true };
  if (typeof option !== 'object' || option === null) throw invalidOptions('pid', 'expected true, false or an object');
  for (const [key, value] of Object.entries(option)) {
    if (key !== 'asPid1' && key !== 'mountProc') throw invalidOptions(`pid.${key}`, 'unknown option');
    if (typeof value !== 'boolean') throw invalidOptions(`pid.${key}`, 'expected a boolean');
  }
  return { asPid1: option.asPid1 ?? false, mountProc: option.mountProc ?? true };
}

/**
 * unshare(CLONE_NEWPID) moves only later children, so the runner forks: the child is
 * PID 1 and mounts /proc from inside (it must), the parent stays as the supervisor Node
 * sees. Unless asPid1, PID 1 forks again and stays as init; the target is PID 2.
 * Every process dies with its parent, and when PID 1 dies the kernel ends the rest.
 */
export function pidPlan(options: Required<PidOptions>): StagedSteps {
  const plan: StagedSteps = {
    namespaces: [{ op: 'syscall', name: 'pid.unshare', syscall: 'unshare', args: [flags(CLONE.CLONE_NEWPID, CLONE)] }],
    pidFork: [
      { op: 'fork', name: 'pid.fork' },
      { op: 'dieWithParent', name: 'pid.dieWithSupervisor', signal: constants.signals.SIGKILL },
    ],
  };
  if (options.mountProc) {
    plan.mounts = [
      {
        op: 'syscall',
        name: 'pid.mountProc',
        syscall: 'mount',
        args: [str('proc'), str('/proc'), str('proc'), flags(MS.MS_NOSUID | MS.MS_NODEV | MS.MS_NOEXEC, MS), nullPointer()],
      },
    ];
  }
  if (!options.asPid1) {
    plan.initFork = [
      { op: 'fork', name: 'pid.init' },
      { op: 'dieWithParent', name: 'pid.dieWithInit', signal: constants.signals.SIGKILL },
    ];
  }
  return plan;
}
