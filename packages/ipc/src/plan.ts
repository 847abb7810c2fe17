import { CLONE, MS, flags, invalidOptions, nullPointer, str } from '@iso/core';
import type { StagedSteps } from '@iso/core';
import type { IpcOption, IpcOptions } from './options.js';

const DEFAULT_MOUNT_POINT = '/dev/mqueue';

export function normalizeIpcOptions(option: IpcOption | undefined): Required<IpcOptions> | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return { mqueue: true, mqueueMountPoint: DEFAULT_MOUNT_POINT };
  if (typeof option !== 'object' || option === null) throw invalidOptions('ipc', 'expected true, false or an object');
  for (const key of Object.keys(option))
    if (key !== 'mqueue' && key !== 'mqueueMountPoint') throw invalidOptions(`ipc.${key}`, 'unknown option');
  if (option.mqueue !== undefined && typeof option.mqueue !== 'boolean') throw invalidOptions('ipc.mqueue', 'expected a boolean');
  const mountPoint = option.mqueueMountPoint ?? DEFAULT_MOUNT_POINT;
  if (typeof mountPoint !== 'string' || !mountPoint.startsWith('/') || mountPoint.includes('\0'))
    throw invalidOptions('ipc.mqueueMountPoint', 'expected an absolute path');
  return { mqueue: option.mqueue ?? true, mqueueMountPoint: mountPoint };
}

/** `withMountNamespace`: whether the sandbox has a mount namespace to mount mqueue in. */
export function ipcPlan(options: Required<IpcOptions>, withMountNamespace: boolean): StagedSteps {
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
