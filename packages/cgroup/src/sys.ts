// Native calls of @iso/cgroup, in-process: the only file of the package that may import
// @iso/core/native (koffi and libc). Thread-agnostic calls only. Plain reads and writes of
// cgroupfs files go through node:fs elsewhere (cgroupfs.ts).
import { checked, libc } from '@iso/core/native';

/** statfs(2) f_type of cgroup2 and of a v1 hierarchy (linux/magic.h). */
export const CGROUP2_SUPER_MAGIC = 0x63677270;
export const CGROUP_SUPER_MAGIC = 0x27e0eb;
export const TMPFS_MAGIC = 0x01021994;

type Statfs = (path: string, buffer: Buffer) => number;
let statfsFunction: Statfs | undefined;

/** The filesystem magic (statfs f_type) of the filesystem at `path`. */
export function filesystemMagic(path: string): number {
  statfsFunction ??= libc().func('int statfs(const char *path, void *buf)') as Statfs;
  const call = statfsFunction;
  // struct statfs is 120 bytes on x86_64 and aarch64; f_type is its first word.
  const buffer = Buffer.alloc(128);
  checked('statfs', { step: 'cgroup.detect', call: `statfs("${path}")`, path }, () => call(path, buffer));
  return Number(buffer.readBigUInt64LE(0) & 0xffffffffn);
}

const EFD_CLOEXEC = 0o2000000;
const EFD_NONBLOCK = 0o4000;
type Eventfd = (initial: number, flags: number) => number;
let eventfdFunction: Eventfd | undefined;

/** eventfd2(0, EFD_CLOEXEC|EFD_NONBLOCK): a counter the kernel bumps for a v1 cgroup event. */
export function openEventFd(step: string): number {
  eventfdFunction ??= libc().func('int eventfd(unsigned int initval, int flags)') as Eventfd;
  const call = eventfdFunction;
  return checked('eventfd2', { step, call: 'eventfd2(0, EFD_CLOEXEC|EFD_NONBLOCK)' }, () => call(0, EFD_CLOEXEC | EFD_NONBLOCK));
}
