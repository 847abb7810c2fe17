import { readNamespaceId } from '@iso/core';
import type { ProcessRef } from '@iso/core';

/** The id (inode) of the UTS namespace a process is in; equal ids mean the same namespace. */
export function utsNamespaceId(pid: ProcessRef = 'self'): number {
  return readNamespaceId(pid, 'uts');
}

export interface UtsProbe {
  namespaces: boolean;
}

export function probeUts(): UtsProbe {
  try {
    utsNamespaceId('self');
    return { namespaces: true };
  } catch {
    return { namespaces: false };
  }
}
