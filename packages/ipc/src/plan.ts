import { CLONE, MS, flags, invalidOptions, nullPointer, str } from '@iso/core';
import type { StagedSteps } from '@iso/core';
import type { IpcOption, IpcOptions } from './options.js';

export function normalizeIpcOptions(option: IpcOption | undefined): Required<IpcOptions> | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return { mqueue: true };
  if (typeof option !== 'object' || option === null) throw invalidOptions('ipc', 'expected true, false or an object');
  for (const key of Object.keys(option)) if (key !== 'mqueue') throw invalidOptions(`ipc.${key}`, 'unknown option');
  if (option.mqueue !== undefined && typeof option.mqueue !== 'boolean') throw invalidOptions('ipc.mqueue', 'expected a boolean');
  return { mqueue: option.mqueue ?? true };
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
        args: [str('mqueue'), str('/dev/mqueue'), str('mqueue'), flags(MS.MS_NOSUID | MS.MS_NODEV | MS.MS_NOEXEC, MS), nullPointer()],
        tolerate: ['ENOENT'],
      },
    ];
  }
  return plan;
}
