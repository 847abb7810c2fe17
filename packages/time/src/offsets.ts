import { readFileSync } from 'node:fs';
import type { ProcessRef } from '@iso/core';
import type { NamespacedClock } from './sys.js';

/**
 * The offsets of a process's time namespace in nanoseconds, from /proc/<pid>/timens_offsets
 * (all 0 in the initial namespace, or where the file is missing).
 */
export function readTimeOffsetNanoseconds(pid: ProcessRef = 'self'): Record<NamespacedClock, bigint> {
  const offsets = { monotonic: 0n, boottime: 0n };
  let text = '';
  try {
    text = readFileSync(`/proc/${pid === 'self' ? 'self' : String(pid)}/timens_offsets`, 'utf8');
  } catch {
    return offsets;
  }
  for (const line of text.split('\n')) {
    const [clock, seconds, nanoseconds] = line.trim().split(/\s+/);
    if ((clock === 'monotonic' || clock === 'boottime') && seconds !== undefined && nanoseconds !== undefined && /^-?\d+$/.test(seconds) && /^\d+$/.test(nanoseconds))
      offsets[clock] = BigInt(seconds) * 1_000_000_000n + BigInt(nanoseconds);
  }
  return offsets;
}
