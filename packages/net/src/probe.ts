import { readNamespaceId } from '@iso/core';
import type { FeatureProbe, ProcessRef } from '@iso/core';
import { NET_MODES } from './normalize.js';
import type { NetMode } from './options.js';

/** The id (inode) of the network namespace a process is in; equal ids mean the same namespace. */
export function netNamespaceId(pid: ProcessRef = 'self'): number {
  return readNamespaceId(pid, 'net');
}

export interface NetProbe extends FeatureProbe {
  /** The caller's network namespace, when it can be read. */
  readonly namespaceId: number | undefined;
  /** The modes of the `net` option this build has. */
  readonly modes: readonly NetMode[];
}

/** Whether this kernel has network namespaces (CONFIG_NET_NS). Never throws on Linux. */
export function probeNet(): NetProbe {
  try {
    return { supported: true, reasons: [], namespaceId: netNamespaceId('self'), modes: NET_MODES };
  } catch {
    return { supported: false, reasons: ['no network namespaces (/proc/self/ns/net is missing; the kernel lacks CONFIG_NET_NS)'], namespaceId: undefined, modes: NET_MODES };
  }
}
