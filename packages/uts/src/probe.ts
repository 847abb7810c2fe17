import { readNamespaceId } from '@iso/core';
import type { FeatureProbe, ProcessRef } from '@iso/core';

/** The id (inode) of the UTS namespace a process is in; equal ids mean the same namespace. */
export function utsNamespaceId(pid: ProcessRef = 'self'): number {
  return readNamespaceId(pid, 'uts');
}

export interface UtsProbe extends FeatureProbe {
  /** The caller's UTS namespace, when it can be read. */
  namespaceId: number | undefined;
}

/** Whether this kernel has UTS namespaces (CONFIG_UTS_NS). Never throws on Linux. */
export function probeUts(): UtsProbe {
  try {
    return { supported: true, reasons: [], namespaceId: utsNamespaceId('self') };
  } catch {
    return { supported: false, reasons: ['no UTS namespaces (/proc/self/ns/uts is missing; the kernel lacks CONFIG_UTS_NS)'], namespaceId: undefined };
  }
}
