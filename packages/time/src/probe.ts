import { currentHost, kernelAtLeast, readNamespaceId } from '@iso/core';
import type { FeatureProbe, ProcessRef } from '@iso/core';
import { TIME_NAMESPACE_KERNEL } from './normalize.js';
import { readTimeOffsetNanoseconds } from './offsets.js';

/** The id (inode) of the time namespace a process is in; equal ids mean the same namespace. */
export function timeNamespaceId(pid: ProcessRef = 'self'): number {
  return readNamespaceId(pid, 'time');
}

/** The offsets of a process's time namespace, in seconds, from /proc/<pid>/timens_offsets. */
export function readTimeOffsets(pid: ProcessRef = 'self'): { monotonic: number; boottime: number } {
  const offsets = readTimeOffsetNanoseconds(pid);
  return { monotonic: Number(offsets.monotonic) / 1e9, boottime: Number(offsets.boottime) / 1e9 };
}

export interface TimeProbe extends FeatureProbe {
  /** The caller's time namespace, when it can be read. */
  readonly namespaceId: number | undefined;
}

/** Whether this kernel has time namespaces (Linux 5.6+, CONFIG_TIME_NS). Never throws on Linux. */
export function probeTime(): TimeProbe {
  const host = currentHost();
  const reasons: string[] = [];
  let namespaceId: number | undefined;
  if (!kernelAtLeast(host.kernel, TIME_NAMESPACE_KERNEL)) reasons.push(`time namespaces need Linux ${TIME_NAMESPACE_KERNEL.join('.')}+; this is ${host.kernelRelease}`);
  try {
    namespaceId = timeNamespaceId('self');
  } catch {
    reasons.push('no time namespaces (/proc/self/ns/time is missing; the kernel lacks CONFIG_TIME_NS)');
  }
  return { supported: reasons.length === 0, reasons, namespaceId };
}
