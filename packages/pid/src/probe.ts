import { readNamespaceId } from '@iso/core';
import type { FeatureProbe, ProcessRef } from '@iso/core';

/** The id (inode) of the PID namespace a process is in; equal ids mean the same namespace. */
export function pidNamespaceId(pid: ProcessRef = 'self'): number {
  return readNamespaceId(pid, 'pid');
}

export interface PidProbe extends FeatureProbe {
  /** The caller's PID namespace, when it can be read. */
  namespaceId: number | undefined;
}

/** Whether this kernel has PID namespaces (CONFIG_PID_NS). Never throws on Linux. */
export function probePid(): PidProbe {
  try {
    return { supported: true, reasons: [], namespaceId: pidNamespaceId('self') };
  } catch {
    return { supported: false, reasons: ['no PID namespaces (/proc/self/ns/pid is missing; the kernel lacks CONFIG_PID_NS)'], namespaceId: undefined };
  }
}
