// Native calls of @iso/mount, in-process: the new mount API and umount2, each a checked
// raw syscall through core (which loads libc on first use). They act on the caller's mount
// namespace and root, which all of Node's threads share, so any thread may make them.
import { rawSyscall } from '@iso/core/native';
import type { CallSite } from '@iso/core/native';
import { mountAttrStruct } from './structs.js';

/** Where a call is made from, for its error: the operation ('mount.bindMount') and the path. */
export type { CallSite };

/** struct mount_attr, as numbers: MOUNT_ATTR_* bits to set and clear, MS_* propagation, a user namespace fd. */
export interface MountAttr {
  set: number;
  clear: number;
  propagation: number;
  usernsFd: number;
}

/** open_tree(2) (Linux 5.2+): a detached clone (OPEN_TREE_CLONE) of the mount at `path`, as an fd. */
export function openTree(dirfd: number, path: string, flags: number, site: CallSite): number {
  return rawSyscall('open_tree', [dirfd, path, flags], site);
}

/** mount_setattr(2) (Linux 5.12+): changes the attributes of a mount, and of its submounts with AT_RECURSIVE. */
export function mountSetattr(dirfd: number, path: string, flags: number, attr: MountAttr, site: CallSite): void {
  const encoded = mountAttrStruct.encode({
    attr_set: BigInt(attr.set),
    attr_clr: BigInt(attr.clear),
    propagation: BigInt(attr.propagation),
    userns_fd: BigInt(attr.usernsFd),
  });
  rawSyscall('mount_setattr', [dirfd, path, flags, encoded, mountAttrStruct.size], site);
}

/** move_mount(2) (Linux 5.2+): attaches (or moves) a mount. */
export function moveMount(from: { dirfd: number; path: string }, to: { dirfd: number; path: string }, flags: number, site: CallSite): void {
  rawSyscall('move_mount', [from.dirfd, from.path, to.dirfd, to.path, flags], site);
}

/** fsopen(2) (Linux 5.2+): a filesystem context for `fsType`, as an fd. */
export function fsopen(fsType: string, flags: number, site: CallSite): number {
  return rawSyscall('fsopen', [fsType, flags], site);
}

/** fsconfig(2) with a string value (FSCONFIG_SET_STRING). */
export function fsconfigString(fd: number, command: number, key: string, value: string, site: CallSite): void {
  rawSyscall('fsconfig', [fd, command, key, value, 0], site);
}

/** fsconfig(2) with a command and no key (FSCONFIG_CMD_CREATE). */
export function fsconfigCommand(fd: number, command: number, site: CallSite): void {
  rawSyscall('fsconfig', [fd, command, null, null, 0], site);
}

/** fsmount(2) (Linux 5.2+): a detached mount of the created filesystem, as an fd. */
export function fsmount(fd: number, flags: number, attributes: number, site: CallSite): number {
  return rawSyscall('fsmount', [fd, flags, attributes], site);
}

/** umount2(2). */
export function umount2(path: string, flags: number, site: CallSite): void {
  rawSyscall('umount2', [path, flags], site);
}
