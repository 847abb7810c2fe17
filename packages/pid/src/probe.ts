import { readNamespaceId } from '@iso/core';
import type { ProcessRef } from '@iso/core';

export function pidNamespaceId(pid: ProcessRef = 'self'): number {
  return readNamespaceId(pid, 'pid');
}

export interface PidProbe {
  namespaces: boolean;
}

export function probePid(): PidProbe {
  try {
    pidNamespaceId('self');
    return { namespaces: true };
  } catch {
    return { namespaces: false };
  }
}
