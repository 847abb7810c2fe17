// Native calls of @iso/net, in-process: a NETLINK_ROUTE socket (socket, setsockopt, bind,
// sendto, recvfrom, close) and setns(2) into a network namespace. The only file of the
// package that may import @iso/core/native; every call is checked there.
import { CLONE, syscallError } from '@iso/core';
import { checked, lastErrno, libc } from '@iso/core/native';

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_ROUTE = 0;
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_RCVTIMEO = 20; // SO_RCVTIMEO_OLD: struct timeval of two longs on 64-bit
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
const MSG_TRUNC = 0x20;
const EINTR = 4;
const ENOPROTOOPT = 92;
/** struct sockaddr_nl: u16 family, u16 pad, u32 port id, u32 groups. */
const SOCKADDR_NL_SIZE = 12;

interface Calls {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, length: number): number;
  bind(fd: number, address: Buffer, length: number): number;
  getsockname(fd: number, address: Buffer, length: Buffer): number;
  sendto(fd: number, data: Buffer, length: number, flags: number, address: Buffer, addressLength: number): number;
  recvfrom(fd: number, data: Buffer, length: number, flags: number, address: null, addressLength: null): number;
  close(fd: number): number;
  setns(fd: number, type: number): number;
}
let calls: Calls | undefined;

function native(): Calls {
  if (calls) return calls;
  const c = libc();
  calls = {
    socket: c.func('int socket(int domain, int type, int protocol)') as Calls['socket'],
    setsockopt: c.func('int setsockopt(int fd, int level, int name, void *value, uint32_t length)') as Calls['setsockopt'],
    bind: c.func('int bind(int fd, void *address, uint32_t length)') as Calls['bind'],
    getsockname: c.func('int getsockname(int fd, void *address, void *length)') as Calls['getsockname'],
    sendto: c.func('intptr_t sendto(int fd, void *data, size_t length, int flags, void *address, uint32_t addressLength)') as Calls['sendto'],
    recvfrom: c.func('intptr_t recvfrom(int fd, void *data, size_t length, int flags, void *address, void *addressLength)') as Calls['recvfrom'],
    close: c.func('int close(int fd)') as Calls['close'],
    setns: c.func('int setns(int fd, int type)') as Calls['setns'],
  };
  return calls;
}

function sockaddrNl(portId: number): Buffer {
  const address = Buffer.alloc(SOCKADDR_NL_SIZE);
  address.writeUInt16LE(AF_NETLINK, 0);
  address.writeUInt32LE(portId, 4);
  return address;
}

function setOption(fd: number, level: number, name: number, value: Buffer, call: string): void {
  const c = native();
  checked('setsockopt', { step: 'net.rtnetlink.open', call }, () => c.setsockopt(fd, level, name, value, value.length));
}

function intValue(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32LE(value);
  return buffer;
}

/**
 * A NETLINK_ROUTE socket of the calling thread's network namespace (sockets keep the
 * namespace they were made in), close-on-exec, bound to a port id the kernel picks. It
 * asks for extended acks (Linux 4.12+) and capped acks, and gives up on a reply after
 * `timeoutMs`. Returns the fd and the port id.
 */
export function openNetlinkSocket(timeoutMs: number): { fd: number; portId: number } {
  const c = native();
  const fd = checked('socket', { step: 'net.rtnetlink.open', call: 'socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE)' }, () =>
    c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE),
  );
  try {
    // Extended acks came with Linux 4.12; before, errors come without the kernel's words.
    if (c.setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, intValue(1), 4) === -1 && lastErrno() !== ENOPROTOOPT)
      setOption(fd, SOL_NETLINK, NETLINK_EXT_ACK, intValue(1), 'setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)');
    setOption(fd, SOL_NETLINK, NETLINK_CAP_ACK, intValue(1), 'setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)');
    setOption(fd, SOL_SOCKET, SO_RCVBUF, intValue(1 << 20), 'setsockopt(SOL_SOCKET, SO_RCVBUF, 1 MiB)');
    const timeval = Buffer.alloc(16);
    timeval.writeBigInt64LE(BigInt(Math.floor(timeoutMs / 1000)), 0);
    timeval.writeBigInt64LE(BigInt((timeoutMs % 1000) * 1000), 8);
    setOption(fd, SOL_SOCKET, SO_RCVTIMEO, timeval, `setsockopt(SOL_SOCKET, SO_RCVTIMEO, ${timeoutMs} ms)`);
    checked('bind', { step: 'net.rtnetlink.open', call: 'bind(AF_NETLINK, port 0)' }, () => c.bind(fd, sockaddrNl(0), SOCKADDR_NL_SIZE));
    const bound = Buffer.alloc(SOCKADDR_NL_SIZE);
    const length = Buffer.alloc(4);
    length.writeUInt32LE(SOCKADDR_NL_SIZE);
    checked('getsockname', { step: 'net.rtnetlink.open' }, () => c.getsockname(fd, bound, length));
    return { fd, portId: bound.readUInt32LE(4) };
  } catch (error) {
    c.close(fd);
    throw error;
  }
}

/** Sends one request datagram to the kernel (port id 0). */
export function netlinkSend(fd: number, request: Buffer, step: string): void {
  const c = native();
  const kernel = sockaddrNl(0);
  for (;;) {
    const sent = c.sendto(fd, request, request.length, 0, kernel, SOCKADDR_NL_SIZE);
    if (sent >= 0) return;
    const errno = lastErrno();
    if (errno !== EINTR) throw syscallError(errno, { step, syscall: 'sendto', phase: 'in-process' });
  }
}

/**
 * Receives one datagram into `buffer` and returns its length. A datagram larger than the
 * buffer is an error (MSG_TRUNC reports its real size), never a silent cut. EAGAIN means
 * the reply did not come within the socket's timeout.
 */
export function netlinkReceive(fd: number, buffer: Buffer, step: string): number {
  const c = native();
  for (;;) {
    const got = c.recvfrom(fd, buffer, buffer.length, MSG_TRUNC, null, null);
    if (got > buffer.length) throw new RangeError(`${step}: a netlink reply of ${got} bytes does not fit the ${buffer.length}-byte buffer`);
    if (got >= 0) return got;
    const errno = lastErrno();
    if (errno !== EINTR) throw syscallError(errno, { step, syscall: 'recvfrom', phase: 'in-process' });
  }
}

/** close(2), checked. */
export function closeDescriptor(fd: number, step: string): void {
  const c = native();
  checked('close', { step }, () => c.close(fd));
}

/** setns(fd, CLONE_NEWNET): moves the calling thread into the network namespace of `fd`. */
export function enterNetworkNamespace(fd: number, step: string, call: string): void {
  const c = native();
  checked('setns', { step, call }, () => c.setns(fd, CLONE.CLONE_NEWNET));
}
