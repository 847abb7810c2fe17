// The only file of @iso/core that touches koffi. koffi and libc load on first use, so
// importing iso never loads native code and never crashes on another OS.
import { closeSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Koffi from 'koffi';
import { syscallError, unsupportedPlatform } from './errors.js';
import { hostArch, syscallNumber } from './syscalls/index.js';

let koffiModule: typeof Koffi | undefined;
let libcHandle: Koffi.LibraryHandle | undefined;
let syscallFunction: ((...args: unknown[]) => unknown) | undefined;

/** koffi itself, for the sys.ts files of the feature packages. Throws off Linux. */
export function koffi(): typeof Koffi {
  if (process.platform !== 'linux') throw unsupportedPlatform();
  koffiModule ??= createRequire(import.meta.url)('koffi') as typeof Koffi;
  return koffiModule;
}

/** The C library, loaded once. */
export function libc(): Koffi.LibraryHandle {
  libcHandle ??= koffi().load('libc.so.6');
  return libcHandle;
}

/** The errno of the last call on this thread. Read it right after the call. */
export function lastErrno(): number {
  return koffi().errno();
}

export interface CallSite {
  /** The operation, such as 'pid.pidfdOpen'. */
  step: string;
  /** Shown in the error message instead of `syscall()`. */
  call?: string;
  path?: string;
}

/**
 * The one checked-call helper: runs a libc call that reports failure as -1 with errno,
 * reads errno at once and throws a typed IsoError naming the operation and syscall.
 */
export function checked<T extends number | bigint>(syscall: string, site: CallSite, call: () => T): T {
  const result = call();
  if (result === -1 || result === -1n) {
    const errno = lastErrno();
    const where: Parameters<typeof syscallError>[1] = { step: site.step, syscall, phase: 'in-process' };
    if (site.call !== undefined) where.call = site.call;
    if (site.path !== undefined) where.path = site.path;
    throw syscallError(errno, where);
  }
  return result;
}

export type SyscallArgument = number | bigint | Buffer | string | null;

function typed(argument: SyscallArgument): [string, unknown] {
  if (argument === null) return ['void *', null];
  if (typeof argument === 'string') return ['const char *', argument];
  if (Buffer.isBuffer(argument)) return ['void *', argument];
  return ['long', argument];
}

/** A raw syscall by name through libc's syscall(2), checked. Thread-agnostic calls only. */
export function rawSyscall(name: string, args: readonly SyscallArgument[], site: CallSite): number {
  const nr = syscallNumber(hostArch(), name);
  if (nr === undefined) throw new RangeError(`no syscall ${name} on ${hostArch()}`);
  syscallFunction ??= libc().func('long syscall(long number, ...)') as (...args: unknown[]) => unknown;
  const call = syscallFunction;
  return checked(name, site, () => Number(call(nr, ...args.flatMap(typed))));
}

type SocketPair = (domain: number, type: number, protocol: number, fds: Int32Array) => number;
let socketpairFunction: SocketPair | undefined;

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;

/** socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC): two connected, close-on-exec fds. */
export function socketPair(step: string): [number, number] {
  socketpairFunction ??= libc().func('int socketpair(int domain, int type, int protocol, int *fds)') as SocketPair;
  const call = socketpairFunction;
  const fds = new Int32Array(2);
  checked('socketpair', { step }, () => call(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds));
  return [fds[0] ?? -1, fds[1] ?? -1];
}

type RecvMsg = (fd: number, msg: Buffer, flags: number) => number;
let recvmsgFunction: RecvMsg | undefined;

const MSG_DONTWAIT = 0x40;
const MSG_CMSG_CLOEXEC = 0x40000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;

/**
 * Receives one fd sent with SCM_RIGHTS (a sendFdStep of the program), close-on-exec. Returns
 * the fd; null at EOF; undefined when `wait` is false and nothing has arrived yet.
 */
export function receiveFd(socket: number, wait: boolean, step: string): number | null | undefined {
  recvmsgFunction ??= libc().func('long recvmsg(int fd, void *msg, int flags)') as RecvMsg;
  const call = recvmsgFunction;
  const data = Buffer.alloc(1);
  const iov = Buffer.alloc(16);
  const control = Buffer.alloc(64);
  const msg = Buffer.alloc(56); // struct msghdr on 64-bit Linux
  const address = (buffer: Buffer) => koffi().address(buffer);
  iov.writeBigUInt64LE(address(data), 0);
  iov.writeBigUInt64LE(1n, 8);
  const flags = MSG_CMSG_CLOEXEC | (wait ? 0 : MSG_DONTWAIT);
  for (;;) {
    msg.fill(0);
    msg.writeBigUInt64LE(address(iov), 16);
    msg.writeBigUInt64LE(1n, 24);
    msg.writeBigUInt64LE(address(control), 32);
    msg.writeBigUInt64LE(BigInt(control.length), 40);
    const got = call(socket, msg, flags);
    if (got === -1) {
      const errno = lastErrno();
      if (errno === 4) continue; // EINTR
      if (errno === 11 && !wait) return undefined; // EAGAIN
      throw syscallError(errno, { step, syscall: 'recvmsg', phase: 'in-process' });
    }
    // struct cmsghdr: u64 len, int level, int type, then the fd.
    const controlLength = Number(msg.readBigUInt64LE(40));
    if (controlLength >= 20 && control.readInt32LE(8) === SOL_SOCKET && control.readInt32LE(12) === SCM_RIGHTS) return control.readInt32LE(16);
    if (got === 0) return null;
    // A byte without an fd: nothing iso sends, so read on.
  }
}

type SendMsg = (fd: number, msg: Buffer, flags: number) => number;
const ZERO_BYTE = Buffer.alloc(1);
let sendmsgFunction: SendMsg | undefined;
const MSG_NOSIGNAL = 0x4000;

/**
 * Sends one zero byte on `socket` with `fd` attached by SCM_RIGHTS (the receiver gets its
 * own copy), or the byte alone when `fd` is undefined. Blocking; EPIPE if the peer left.
 */
export function sendFd(socket: number, fd: number | undefined, step: string): void {
  if (fd === undefined) {
    writeSync(socket, ZERO_BYTE);
    return;
  }
  sendmsgFunction ??= libc().func('long sendmsg(int fd, void *msg, int flags)') as SendMsg;
  const call = sendmsgFunction;
  const iov = Buffer.alloc(16);
  const control = Buffer.alloc(24); // CMSG_SPACE(sizeof(int))
  const msg = Buffer.alloc(56);
  iov.writeBigUInt64LE(koffi().address(ZERO_BYTE), 0);
  iov.writeBigUInt64LE(1n, 8);
  control.writeBigUInt64LE(20n, 0); // CMSG_LEN(sizeof(int))
  control.writeInt32LE(SOL_SOCKET, 8);
  control.writeInt32LE(SCM_RIGHTS, 12);
  control.writeInt32LE(fd, 16);
  msg.writeBigUInt64LE(koffi().address(iov), 16);
  msg.writeBigUInt64LE(1n, 24);
  msg.writeBigUInt64LE(koffi().address(control), 32);
  msg.writeBigUInt64LE(BigInt(control.length), 40);
  for (;;) {
    if (call(socket, msg, MSG_NOSIGNAL) === 1) return;
    const errno = lastErrno();
    if (errno !== 4) throw syscallError(errno, { step, syscall: 'sendmsg', phase: 'in-process' });
  }
}

const MFD_CLOEXEC = 0x1;
const MFD_ALLOW_SEALING = 0x2;
// Since 6.3 a memfd may be made non-executable by default (vm.memfd_noexec); ask for exec.
const MFD_EXEC = 0x10;
const EINVAL = 22;
const F_ADD_SEALS = 1033;
const F_GET_SEALS = 1034;
/** F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE: the contents can never change. */
export const ALL_SEALS = 0x1 | 0x2 | 0x4 | 0x8;

/**
 * A close-on-exec memfd holding `contents`, sealed so that nothing, not even this process,
 * can change them again. Returns the fd.
 */
export function sealedMemfd(name: string, contents: Uint8Array, step: string): number {
  let fd: number;
  try {
    fd = rawSyscall('memfd_create', [name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC], { step });
  } catch (error) {
    if ((error as { errno?: number }).errno !== -EINVAL) throw error;
    fd = rawSyscall('memfd_create', [name, MFD_CLOEXEC | MFD_ALLOW_SEALING], { step }); // before 6.3
  }
  try {
    for (let done = 0; done < contents.length; ) done += writeSync(fd, contents, done);
    rawSyscall('fcntl', [fd, F_ADD_SEALS, ALL_SEALS], { step });
    const seals = rawSyscall('fcntl', [fd, F_GET_SEALS, 0], { step });
    if ((seals & ALL_SEALS) !== ALL_SEALS) throw new RangeError(`memfd seals are ${seals}, not ${ALL_SEALS}`);
    return fd;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}
