// Native calls of @iso/seccomp, through core's lazily loaded koffi. The only file of the
// package that touches koffi.
import { IsoError, invalidOptions, koffi, rawSyscall, sockFprogStruct } from '@iso/core';
import { filterInstructions } from './interpret.js';
import type { FilterInput } from './interpret.js';
import { encodeFilter } from './bpf.js';
import { SECCOMP_FILTER_FLAG, SECCOMP_SET_MODE, filterFlags } from './plan.js';

function keepAlive(buffer: Buffer): number {
  return buffer.length;
}

export interface ApplyOptions {
  /**
   * Must be true: the filter is installed on every thread of the process at once
   * (SECCOMP_FILTER_FLAG_TSYNC, Linux 3.17+). A Node process always has several threads,
   * and a filter on one of them only would be a hole, not a sandbox.
   */
  tsync: true;
  /** SECCOMP_FILTER_FLAG_LOG. @defaultValue false */
  log?: boolean;
  /** SECCOMP_FILTER_FLAG_SPEC_ALLOW. @defaultValue false */
  specAllow?: boolean;
}

/**
 * Loads a filter into the calling Node process, on all its threads, for good: a filter
 * can never be removed, and children inherit it. Opt-in and rarely what you want; the
 * sandbox loads filters in the child instead.
 *
 * The kernel takes a filter only from a thread that has no_new_privs set, or that holds
 * CAP_SYS_ADMIN. no_new_privs is per-thread and iso never sets it from Node (a prctl
 * reaches one thread only), so start Node with it already set, for example
 * `setpriv --no-new-privs node app.js`, or run with CAP_SYS_ADMIN. Otherwise this throws
 * ISO_NEEDS_PRIVILEGE. If another thread cannot be synchronized (it has an unrelated
 * filter), it throws ISO_SYSCALL_FAILED naming the thread.
 */
export function applyToThisProcess(filter: FilterInput, options: ApplyOptions): void {
  if (!(options.tsync as boolean)) throw invalidOptions('tsync', 'must be true: a filter on one thread of Node leaves the others unfiltered');
  const program = filterInstructions(filter);
  const code = filter instanceof Uint8Array ? Buffer.from(filter) : encodeFilter(program);
  const fprog = sockFprogStruct.encode({ len: program.length });
  fprog.writeBigUInt64LE(koffi().address(code), sockFprogStruct.offsets.filter);
  const flags = SECCOMP_FILTER_FLAG.SECCOMP_FILTER_FLAG_TSYNC | filterFlags({ log: options.log ?? false, specAllow: options.specAllow ?? false });
  let result: number;
  try {
    result = rawSyscall('seccomp', [SECCOMP_SET_MODE.SECCOMP_SET_MODE_FILTER, flags, fprog], { step: 'seccomp.applyToThisProcess' });
  } catch (error) {
    if (error instanceof IsoError && error.code === 'EACCES')
      throw new IsoError(
        'ISO_NEEDS_PRIVILEGE',
        'seccomp.applyToThisProcess: seccomp() failed: EACCES; set no_new_privs before Node starts (setpriv --no-new-privs) or hold CAP_SYS_ADMIN',
        { phase: 'in-process', errnoCode: 'EACCES', errno: -13, syscall: 'seccomp', step: 'seccomp.applyToThisProcess', cause: error },
      );
    throw error;
  } finally {
    // The kernel has copied the program by now; the buffer must stay alive until then.
    keepAlive(code);
  }
  if (result > 0)
    throw new IsoError('ISO_SYSCALL_FAILED', `seccomp.applyToThisProcess: thread ${result} could not be synchronized; no filter was loaded`, {
      phase: 'in-process',
      syscall: 'seccomp',
      step: 'seccomp.applyToThisProcess',
    });
}
