// Native calls of @iso/caps, through core's checked rawSyscall. Only reads: capset,
// prctl changes and no_new_privs are per-thread, so they belong in the runner.
import { rawSyscall } from '@iso/core/native';
import { LINUX_CAPABILITY_VERSION_3, PR, PR_CAP_AMBIENT } from './consts.js';
import type { CapSets } from './text.js';


/**
 * capget(2): the effective, permitted and inheritable sets of a thread, as the kernel
 * reports them. `tid` 0 is the calling thread (Node's main thread).
 */
export function capget(tid = 0): CapSets {
  const header = Buffer.alloc(8);
  header.writeUInt32LE(LINUX_CAPABILITY_VERSION_3, 0);
  header.writeInt32LE(tid, 4);
  const data = Buffer.alloc(24);
  rawSyscall('capget', [header, data], { step: 'caps.capget', call: `capget({_LINUX_CAPABILITY_VERSION_3, pid=${tid}})` });
  const mask = (offset: number) => (BigInt(data.readUInt32LE(12 + offset)) << 32n) | BigInt(data.readUInt32LE(offset));
  return { effective: mask(0), permitted: mask(4), inheritable: mask(8) };
}

/** Whether the kernel has ambient capabilities (Linux 4.3+): PR_CAP_AMBIENT_IS_SET answers. */
let ambient: boolean | undefined;

/** Whether this kernel has ambient capabilities; asked once, since it cannot change. */
export function ambientSupported(): boolean {
  if (ambient !== undefined) return ambient;
  try {
    rawSyscall('prctl', [PR.PR_CAP_AMBIENT, PR_CAP_AMBIENT.PR_CAP_AMBIENT_IS_SET, 0, 0, 0], { step: 'caps.probeAmbient' });
    ambient = true;
  } catch {
    ambient = false;
  }
  return ambient;
}

/** The calling thread's secure bits (PR_GET_SECUREBITS). */
export function getSecurebits(): number {
  return rawSyscall('prctl', [PR.PR_GET_SECUREBITS, 0, 0, 0, 0], { step: 'caps.getSecurebits' });
}

/** The calling thread's no_new_privs bit (PR_GET_NO_NEW_PRIVS, Linux 3.5+). */
export function getNoNewPrivs(): boolean {
  return rawSyscall('prctl', [PR.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0], { step: 'caps.getNoNewPrivs' }) === 1;
}
