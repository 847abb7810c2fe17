// Kernel constants of the mount API (include/uapi/linux/mount.h, fcntl.h, openat2.h), with
// names for explain(). Values are the same on x86_64 and aarch64 except the open(2) flags
// in OPEN_FLAGS, which the plan picks by architecture.
import type { Arch, FlagTable } from '@iso/core';

/** open_tree(2) flags. OPEN_TREE_CLOEXEC is O_CLOEXEC; AT_RECURSIVE clones submounts too. */
export const OPEN_TREE = {
  OPEN_TREE_CLONE: 0x1,
  AT_SYMLINK_NOFOLLOW: 0x100,
  AT_EMPTY_PATH: 0x1000,
  AT_RECURSIVE: 0x8000,
  OPEN_TREE_CLOEXEC: 0x80000,
} as const satisfies FlagTable;

/** move_mount(2) flags. */
export const MOVE_MOUNT = {
  MOVE_MOUNT_F_SYMLINKS: 0x1,
  MOVE_MOUNT_F_AUTOMOUNTS: 0x2,
  MOVE_MOUNT_F_EMPTY_PATH: 0x4,
  MOVE_MOUNT_T_SYMLINKS: 0x10,
  MOVE_MOUNT_T_AUTOMOUNTS: 0x20,
  MOVE_MOUNT_T_EMPTY_PATH: 0x40,
} as const satisfies FlagTable;

export const FSOPEN = { FSOPEN_CLOEXEC: 0x1 } as const satisfies FlagTable;
export const FSMOUNT = { FSMOUNT_CLOEXEC: 0x1 } as const satisfies FlagTable;

/** fsconfig(2) commands. */
export const FSCONFIG = {
  FSCONFIG_SET_FLAG: 0,
  FSCONFIG_SET_STRING: 1,
  FSCONFIG_SET_BINARY: 2,
  FSCONFIG_SET_PATH: 3,
  FSCONFIG_SET_PATH_EMPTY: 4,
  FSCONFIG_SET_FD: 5,
  FSCONFIG_CMD_CREATE: 6,
  FSCONFIG_CMD_RECONFIGURE: 7,
} as const satisfies FlagTable;

/** Mount attributes for fsmount(2) and struct mount_attr (mount_setattr(2)). */
export const MOUNT_ATTR = {
  MOUNT_ATTR_RDONLY: 0x1,
  MOUNT_ATTR_NOSUID: 0x2,
  MOUNT_ATTR_NODEV: 0x4,
  MOUNT_ATTR_NOEXEC: 0x8,
  MOUNT_ATTR_NOATIME: 0x10,
  MOUNT_ATTR_STRICTATIME: 0x20,
  MOUNT_ATTR_NODIRATIME: 0x80,
  MOUNT_ATTR_IDMAP: 0x100000,
  MOUNT_ATTR_NOSYMFOLLOW: 0x200000,
} as const satisfies FlagTable;

/** The flags argument of mount_setattr(2). */
export const SETATTR_AT = {
  AT_SYMLINK_NOFOLLOW: 0x100,
  AT_EMPTY_PATH: 0x1000,
  AT_RECURSIVE: 0x8000,
} as const satisfies FlagTable;

/** struct open_how.resolve (openat2(2), Linux 5.6+). */
export const RESOLVE = {
  RESOLVE_NO_XDEV: 0x1,
  RESOLVE_NO_MAGICLINKS: 0x2,
  RESOLVE_NO_SYMLINKS: 0x4,
  RESOLVE_BENEATH: 0x8,
  RESOLVE_IN_ROOT: 0x10,
  RESOLVE_CACHED: 0x20,
} as const satisfies FlagTable;

/** umount2(2) flags. */
export const UMOUNT = {
  MNT_FORCE: 0x1,
  MNT_DETACH: 0x2,
  MNT_EXPIRE: 0x4,
  UMOUNT_NOFOLLOW: 0x8,
} as const satisfies FlagTable;

/** The open(2) flags this package uses; O_DIRECTORY and O_NOFOLLOW differ on aarch64. */
export interface OpenFlags extends FlagTable {
  O_RDONLY: number;
  O_WRONLY: number;
  O_CREAT: number;
  O_EXCL: number;
  O_TRUNC: number;
  O_DIRECTORY: number;
  O_NOFOLLOW: number;
  O_CLOEXEC: number;
  O_PATH: number;
}

const COMMON = { O_RDONLY: 0, O_WRONLY: 0x1, O_CREAT: 0x40, O_EXCL: 0x80, O_TRUNC: 0x200, O_CLOEXEC: 0x80000, O_PATH: 0x200000 };

/** asm-generic/fcntl.h (x86_64) and arch/arm64/include/uapi/asm/fcntl.h. */
export const OPEN_FLAGS: Readonly<Record<Arch, OpenFlags>> = {
  x86_64: { ...COMMON, O_DIRECTORY: 0x10000, O_NOFOLLOW: 0x20000 },
  aarch64: { ...COMMON, O_DIRECTORY: 0x4000, O_NOFOLLOW: 0x8000 },
};

export const S_IFREG = 0o100000;
export const F_OK = 0;
export const F_GETFD = 1;

/** fsconfig(2) copies string values of at most this many bytes (strndup_user(value, 256)). */
export const FSCONFIG_STRING_MAX = 255;

/** Linux versions the features need (the first release with the syscalls or behaviour). */
export const KERNEL = {
  /** open_tree, move_mount, fsopen/fsconfig/fsmount. */
  newMountApi: [5, 2],
  /** openat2 with RESOLVE_IN_ROOT. */
  openat2: [5, 6],
  /** overlayfs in a user namespace. */
  overlayInUserns: [5, 11],
  /** mount_setattr: recursive read-only in one call (else a remount walk), idmapped mounts. */
  mountSetattr: [5, 12],
  /** overlayfs 'lowerdir+': one lower layer per fsconfig call. */
  overlayLowerAppend: [6, 8],
} as const satisfies Record<string, readonly [number, number]>;

/** mount(2) flags of a bind remount in `'walk'` mode (include/uapi/linux/mount.h). */
export const REMOUNT_MS = {
  MS_RDONLY: 0x1,
  MS_NOSUID: 0x2,
  MS_NODEV: 0x4,
  MS_NOEXEC: 0x8,
  MS_REMOUNT: 0x20,
  MS_NOSYMFOLLOW: 0x100,
  MS_NOATIME: 0x400,
  MS_NODIRATIME: 0x800,
  MS_BIND: 0x1000,
  MS_RELATIME: 0x200000,
  MS_STRICTATIME: 0x1000000,
} as const satisfies FlagTable;

