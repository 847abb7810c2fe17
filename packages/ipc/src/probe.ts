import { existsSync } from 'node:fs';
import { readNamespaceId } from '@iso/core';
import type { ProcessRef } from '@iso/core';

export function ipcNamespaceId(pid: ProcessRef = 'self'): number {
  return readNamespaceId(pid, 'ipc');
}

export interface IpcProbe {
  namespaces: boolean;
  /** /dev/mqueue exists, so a fresh mqueue can be mounted there. */
  mqueueMountPoint: boolean;
}

export function probeIpc(): IpcProbe {
  let namespaces = true;
  try {
    ipcNamespaceId('self');
  } catch {
    namespaces = false;
  }
  return { namespaces, mqueueMountPoint: existsSync('/dev/mqueue') };
}
