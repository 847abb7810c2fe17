// Native calls of @iso/rlimits, in-process: the only file of the package that may import
// @iso/core/native (koffi and libc).
import { rawSyscall } from '@iso/core/native';
import { RLIMIT } from './consts.js';
import { RLIMIT_NAMES } from './options.js';
import type { RlimitName } from './options.js';

/**
 * Every resource limit of a process (0: this one), read with prlimit64(2). Another
 * process's need the rights to signal it, roughly: the same user, or root.
 */
export function readRlimits(pid = 0): Record<RlimitName, { soft: bigint; hard: bigint }> {
  const out = {} as Record<RlimitName, { soft: bigint; hard: bigint }>;
  const buffer = Buffer.alloc(16);
  for (const name of RLIMIT_NAMES) {
    rawSyscall('prlimit64', [pid, RLIMIT[name], null, buffer], { step: 'rlimits.read', call: `prlimit64(${pid}, RLIMIT_${name.toUpperCase()}, NULL, &old)` });
    out[name] = { soft: buffer.readBigUInt64LE(0), hard: buffer.readBigUInt64LE(8) };
  }
  return out;
}
