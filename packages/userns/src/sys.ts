// Native calls of @iso/userns: asking the kernel about a user namespace file, in-process.
import { closeSync, openSync } from 'node:fs';
import { IsoError } from '@iso/core';
import { checked, libc } from '@iso/core/native';

/** _IO(0xb7, 0x4): the uid (in the caller's namespace) that owns a user namespace (Linux 4.11+). */
const NS_GET_OWNER_UID = 0xb704;

type Ioctl = (fd: number, request: number, ...args: unknown[]) => number;
let ioctlFunction: Ioctl | undefined;

/**
 * The uid that created the user namespace behind `path` (a /proc/<pid>/ns/user link or a
 * bind-mounted namespace file), as this process sees it: NS_GET_OWNER_UID. The kernel
 * answers for the file itself, however the path is spelled.
 */
export function userNamespaceOwner(path: string): number {
  ioctlFunction ??= libc().func('int ioctl(int fd, unsigned long request, ...)') as Ioctl;
  const ioctl = ioctlFunction;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    throw new IsoError('ISO_SYSCALL_FAILED', `userns.owner: opening ${path} failed: ${code}`, { phase: 'in-process', step: 'userns.owner', errnoCode: code, path, cause: error });
  }
  try {
    const uid = Buffer.alloc(4);
    checked('ioctl', { step: 'userns.owner', call: `ioctl(${path}, NS_GET_OWNER_UID)`, path }, () => ioctl(fd, NS_GET_OWNER_UID, 'void *', uid));
    return uid.readUInt32LE(0);
  } finally {
    closeSync(fd);
  }
}
