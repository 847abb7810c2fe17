import { CLONE, MS, flags, nullPointer, str } from '@iso/core';
import type { StagedSteps } from '@iso/core';
import { DEFAULT_MOUNT_POINT } from './normalize.js';
import type { IpcSettings } from './options.js';

/** `withMountNamespace`: whether the sandbox has a mount namespace to mount mqueue in. */
export function ipcPlan(options: IpcSettings, withMountNamespace: boolean): StagedSteps {
  const plan: StagedSteps = {
    namespaces: [{ op: 'syscall', name: 'ipc.unshare', syscall: 'unshare', args: [flags(CLONE.CLONE_NEWIPC, CLONE)] }],
  };
  if (options.mqueue && withMountNamespace) {
    plan.mounts = [
      {
        op: 'syscall',
        name: 'ipc.mqueue',
        syscall: 'mount',
        args: [str('mqueue'), str(options.mqueueMountPoint), str('mqueue'), flags(MS.MS_NOSUID | MS.MS_NODEV | MS.MS_NOEXEC, MS), nullPointer()],
        ...(options.mqueueMountPoint === DEFAULT_MOUNT_POINT ? { tolerate: ['ENOENT'] } : {}),
      },
    ];
  }
  return plan;
}
