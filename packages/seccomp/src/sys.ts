// Native calls of @iso/seccomp, through core's lazily loaded koffi. The only file of the
// package that touches koffi.
import { IsoError, invalidOptions, sockFprogStruct, syscallError } from '@iso/core';
import { checked, koffi, lastErrno, libc, rawSyscall, receiveFd } from '@iso/core/native';
import { encodeFilter } from './bpf.js';
import { SECCOMP_ADDFD_FLAG_SEND, SECCOMP_FILTER_FLAG, SECCOMP_IOCTL_NOTIF, SECCOMP_SET_MODE, filterFlags } from './consts.js';
import { filterInstructions } from './interpret.js';
import type { FilterInput } from './interpret.js';

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
  // Checked for plain JavaScript callers too: a truthy 'yes' is not true.
  if (typeof options !== 'object' || (options as unknown) === null) throw invalidOptions('options', 'expected { tsync: true }');
  if ((options.tsync as unknown) !== true) throw invalidOptions('tsync', 'must be true: a filter on one thread of Node leaves the others unfiltered');
  for (const key of ['log', 'specAllow'] as const)
    if (options[key] !== undefined && typeof options[key] !== 'boolean') throw invalidOptions(key, 'expected a boolean');
  const program = filterInstructions(filter);
  const code = filter instanceof Uint8Array ? Buffer.from(filter) : encodeFilter(program);
  const fprog = sockFprogStruct.encode({ len: program.length });
  fprog.writeBigUInt64LE(koffi().address(code), sockFprogStruct.offsets.filter);
  const flags = SECCOMP_FILTER_FLAG.SECCOMP_FILTER_FLAG_TSYNC | filterFlags(options);
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

// --- The user-notification supervisor's native calls (see notify.ts) -----------------

/**
 * Takes the listener the runner's seccomp.sendListener step sent on the return channel,
 * without waiting: the fd (close-on-exec), null at EOF (setup ended before the filter was
 * loaded), undefined while nothing has arrived.
 */
export function receiveListener(returnSocket: number): number | null | undefined {
  return receiveFd(returnSocket, false, 'seccomp.notify.listener');
}

/** struct seccomp_notif: u64 id, u32 pid, u32 flags, struct seccomp_data (64 bytes). */
const NOTIF_SIZE = 80;
/** struct seccomp_notif_resp: u64 id, s64 val, s32 error, u32 flags. */
const NOTIF_RESP_SIZE = 24;

type Ioctl = (fd: number, request: number, ...args: unknown[]) => number;
type Poll = ((fds: Buffer, count: number, timeout: number) => number) & {
  async(fds: Buffer, count: number, timeout: number, done: (error: unknown, result: number) => void): void;
};
type EventFd = (initial: number, flags: number) => number;
let ioctlFunction: Ioctl | undefined;
let pollFunction: Poll | undefined;
let eventfdFunction: EventFd | undefined;

function ioctl(fd: number, request: number, arg: Buffer): number {
  ioctlFunction ??= libc().func('int ioctl(int fd, unsigned long request, ...)') as Ioctl;
  return ioctlFunction(fd, request, 'void *', arg);
}

/**
 * One listener ioctl. Returns false for the errnos in `gone` (ENOENT: the notification
 * went away, the caller was killed or interrupted), which are no error for a supervisor.
 */
function listenerIoctl(listener: number, request: keyof typeof SECCOMP_IOCTL_NOTIF, buffer: Buffer, step: string, gone: readonly number[] = [2]): boolean {
  if (ioctl(listener, SECCOMP_IOCTL_NOTIF[request], buffer) !== -1) return true;
  const errno = lastErrno();
  if (gone.includes(errno)) return false;
  throw syscallError(errno, { step, syscall: 'ioctl', call: `ioctl(SECCOMP_IOCTL_NOTIF_${request})`, phase: 'in-process' });
}

/** One notification as the kernel reports it. */
export interface RawNotification {
  id: bigint;
  pid: number;
  nr: number;
  arch: number;
  instructionPointer: bigint;
  args: bigint[];
}

/**
 * SECCOMP_IOCTL_NOTIF_RECV, called once poll() said the listener is readable. Returns
 * undefined when the notification went away (the caller was killed: ENOENT) or on EINTR.
 */
export function receiveNotification(listener: number): RawNotification | undefined {
  const buffer = Buffer.alloc(NOTIF_SIZE); // the kernel wants it zeroed
  if (!listenerIoctl(listener, 'RECV', buffer, 'seccomp.notify.receive', [2, 4])) return undefined;
  const args: bigint[] = [];
  for (let i = 0; i < 6; i++) args.push(buffer.readBigUInt64LE(32 + 8 * i));
  return {
    id: buffer.readBigUInt64LE(0),
    pid: buffer.readUInt32LE(8),
    nr: buffer.readInt32LE(16),
    arch: buffer.readUInt32LE(20),
    instructionPointer: buffer.readBigUInt64LE(24),
    args,
  };
}

/**
 * SECCOMP_IOCTL_NOTIF_SEND. Returns false when the notification is gone (ENOENT: the
 * caller was killed or interrupted meanwhile), which is no error for a supervisor.
 */
export function sendResponse(listener: number, id: bigint, value: bigint, error: number, flags: number): boolean {
  const buffer = Buffer.alloc(NOTIF_RESP_SIZE);
  buffer.writeBigUInt64LE(id, 0);
  buffer.writeBigInt64LE(value, 8);
  buffer.writeInt32LE(error, 16);
  buffer.writeUInt32LE(flags, 20);
  return listenerIoctl(listener, 'SEND', buffer, 'seccomp.notify.send');
}

const O_CLOEXEC = 0o2000000;

/**
 * SECCOMP_IOCTL_NOTIF_ADDFD with SECCOMP_ADDFD_FLAG_SEND (Linux 5.14): copies `fd` of this
 * process into the caller as its lowest free fd and answers the call with that number, in
 * one step. Returns false when the notification is gone.
 */
export function answerWithFd(listener: number, id: bigint, fd: number, cloexec: boolean): boolean {
  const buffer = Buffer.alloc(24); // struct seccomp_notif_addfd: u64 id, u32 flags, srcfd, newfd, newfd_flags
  buffer.writeBigUInt64LE(id, 0);
  buffer.writeUInt32LE(SECCOMP_ADDFD_FLAG_SEND, 8);
  buffer.writeUInt32LE(fd, 12);
  buffer.writeUInt32LE(cloexec ? O_CLOEXEC : 0, 20);
  return listenerIoctl(listener, 'ADDFD', buffer, 'seccomp.notify.send');
}

/** SECCOMP_IOCTL_NOTIF_ID_VALID: whether the caller still waits on this notification. */
export function notificationValid(listener: number, id: bigint): boolean {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64LE(id);
  return ioctl(listener, SECCOMP_IOCTL_NOTIF.ID_VALID, buffer) === 0;
}

export const POLLIN = 0x1;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLNVAL = 0x20;

/**
 * poll(2) on a libuv worker thread, so the main thread stays free: `done` gets each fd's
 * revents, in order (all 0 on timeout).
 */
export function pollInBackground(fds: readonly number[], timeoutMs: number, done: (revents: number[]) => void): void {
  pollFunction ??= libc().func('int poll(void *fds, unsigned long count, int timeout)') as Poll;
  const table = Buffer.alloc(8 * fds.length); // struct pollfd: int fd, short events, short revents
  fds.forEach((fd, i) => {
    table.writeInt32LE(fd, 8 * i);
    table.writeInt16LE(POLLIN, 8 * i + 4);
  });
  pollFunction.async(table, fds.length, timeoutMs, (error, result) => {
    // On an error (EINTR) nothing is ready; the caller polls again.
    done(fds.map((_, i) => (error || result <= 0 ? 0 : table.readUInt16LE(8 * i + 6))));
  });
}

/** eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK): wakes the background poll. */
export function createEventFd(): number {
  eventfdFunction ??= libc().func('int eventfd(unsigned int initial, int flags)') as EventFd;
  const call = eventfdFunction;
  return checked('eventfd', { step: 'seccomp.notify.start' }, () => call(0, 0o2000000 | 0o4000));
}
