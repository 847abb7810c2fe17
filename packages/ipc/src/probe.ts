import { existsSync } from 'node:fs';
import { readNamespaceId } from '@iso/core';
import type { FeatureProbe, ProcessRef } from '@iso/core';

/** The id (inode) of the IPC namespace a process is in; equal ids mean the same namespace. */
export function ipcNamespaceId(pid: ProcessRef = 'self'): number {
  return readNamespaceId(pid, 'ipc');
}

export interface IpcProbe extends FeatureProbe {
  /** The caller's IPC namespace, when it can be read. */
  namespaceId: number | undefined;
  /** /dev/mqueue exists, so a fresh mqueue can be mounted there. */
  mqueueMountPoint: boolean;
}

/** Whether this kernel has IPC namespaces (CONFIG_IPC_NS), and a place for mqueue. Never throws on Linux. */
export function probeIpc(): IpcProbe {
  const reasons: string[] = [];
  let namespaceId: number | undefined;
  try {
    namespaceId = ipcNamespaceId('self');
  } catch {
    reasons.push('no IPC namespaces (/proc/self/ns/ipc is missing; the kernel lacks CONFIG_IPC_NS)');
  }
  const mqueueMountPoint = existsSync('/dev/mqueue');
  if (!mqueueMountPoint) reasons.push('no /dev/mqueue here: the default mqueue mount is skipped (set ipc.mqueueMountPoint to a directory that exists)');
  return { supported: namespaceId !== undefined, reasons, namespaceId, mqueueMountPoint };
}
