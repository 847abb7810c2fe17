// Native calls of @iso/pid: pidfds, through core's checked raw syscall.
import { rawSyscall } from '@iso/core/native';

/** pidfd_open(2) (Linux 5.3+): an fd that always refers to this process, never a reused pid. */
export function pidfdOpen(pid: number): number {
  return rawSyscall('pidfd_open', [pid, 0], { step: 'pid.pidfdOpen', call: `pidfd_open(${pid}, 0)` });
}

/** pidfd_send_signal(2) (Linux 5.1+): signal the process behind a pidfd, race-free. */
export function pidfdSendSignal(pidfd: number, signal: number): void {
  rawSyscall('pidfd_send_signal', [pidfd, signal, null, 0], { step: 'pid.pidfdSendSignal', call: `pidfd_send_signal(${pidfd}, ${signal}, NULL, 0)` });
}
