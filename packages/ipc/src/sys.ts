// Native calls of @iso/ipc, through core's lazily loaded libc.
import { closeSync, openSync, constants } from 'node:fs';
import { CLONE } from '@iso/core';
import { checked, libc } from '@iso/core/native';

let setnsFunction: ((fd: number, type: number) => number) | undefined;

function setns(fd: number, step: string): void {
  setnsFunction ??= libc().func('int setns(int fd, int nstype)') as (fd: number, type: number) => number;
  const call = setnsFunction;
  checked('setns', { step }, () => call(fd, CLONE.CLONE_NEWIPC ?? 0));
}

/**
 * Runs `work` with this thread in the IPC namespace of `pid`, then returns to its own.
 * IPC namespaces are per-thread state and the work is synchronous, so no other JS runs
 * in between; the return is in `finally`.
 */
export function withIpcNamespaceOf<T>(pid: number, work: () => T): T {
  const own = openSync('/proc/thread-self/ns/ipc', constants.O_RDONLY);
  try {
    const target = openSync(`/proc/${pid}/ns/ipc`, constants.O_RDONLY);
    try {
      setns(target, 'ipc.enter');
    } finally {
      closeSync(target);
    }
    try {
      return work();
    } finally {
      setns(own, 'ipc.return');
    }
  } finally {
    closeSync(own);
  }
}
