import { readNamespaceId } from '@iso/core';

export interface MountProbe {
  /** Mount namespaces exist here (/proc/self/ns/mnt). */
  namespaces: boolean;
}

export function probeMount(): MountProbe {
  try {
    readNamespaceId('self', 'mnt');
    return { namespaces: true };
  } catch {
    return { namespaces: false };
  }
}
