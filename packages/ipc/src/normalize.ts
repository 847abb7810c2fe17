import { invalidOptions } from '@iso/core';
import type { IpcOption, IpcSettings } from './options.js';

export const DEFAULT_MOUNT_POINT = '/dev/mqueue';

/** Checks the `ipc` option; undefined when it is off. Throws ISO_INVALID_OPTIONS. */
export function normalizeIpcOptions(option: IpcOption | undefined): IpcSettings | undefined {
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
