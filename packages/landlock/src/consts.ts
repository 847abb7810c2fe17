// Landlock's user-space API (include/uapi/linux/landlock.h), with the ABI version that
// brought each flag. The installed headers are Linux 6.1's and stop at REFER, so the later
// values are written here from the kernel's own header. Names drop the common prefix so
// explain() stays readable; the tables are the same on x86_64 and aarch64.

/** The newest Landlock ABI iso knows (Linux 6.15). Newer kernels are used at this level. */
export const NEWEST_KNOWN_ABI = 7;

/** landlock_create_ruleset() flags. */
export const CREATE_RULESET = {
  LANDLOCK_CREATE_RULESET_VERSION: 1 << 0,
  LANDLOCK_CREATE_RULESET_ERRATA: 1 << 1,
} as const;

/** enum landlock_rule_type. */
export const RULE = {
  LANDLOCK_RULE_PATH_BENEATH: 1,
  LANDLOCK_RULE_NET_PORT: 2,
} as const;

/** LANDLOCK_ACCESS_FS_* bits, without the prefix. */
export const ACCESS_FS = {
  EXECUTE: 1 << 0,
  WRITE_FILE: 1 << 1,
  READ_FILE: 1 << 2,
  READ_DIR: 1 << 3,
  REMOVE_DIR: 1 << 4,
  REMOVE_FILE: 1 << 5,
  MAKE_CHAR: 1 << 6,
  MAKE_DIR: 1 << 7,
  MAKE_REG: 1 << 8,
  MAKE_SOCK: 1 << 9,
  MAKE_FIFO: 1 << 10,
  MAKE_BLOCK: 1 << 11,
  MAKE_SYM: 1 << 12,
  REFER: 1 << 13,
  TRUNCATE: 1 << 14,
  IOCTL_DEV: 1 << 15,
} as const;
export type AccessFsName = keyof typeof ACCESS_FS;

/** LANDLOCK_ACCESS_NET_* bits (ABI 4, Linux 6.7). */
export const ACCESS_NET = {
  BIND_TCP: 1 << 0,
  CONNECT_TCP: 1 << 1,
} as const;

/** LANDLOCK_SCOPE_* bits (ABI 6, Linux 6.12). */
export const SCOPE = {
  ABSTRACT_UNIX_SOCKET: 1 << 0,
  SIGNAL: 1 << 1,
} as const;

/** The ABI that brought each filesystem right; the rest came with ABI 1 (Linux 5.13). */
export const FS_RIGHT_ABI: Readonly<Partial<Record<AccessFsName, number>>> = { REFER: 2, TRUNCATE: 3, IOCTL_DEV: 5 };
/** Network rules came with ABI 4, scopes with ABI 6. */
export const NET_ABI = 4;
export const SCOPE_ABI = 6;

/** The Linux release that brought each ABI, for messages. */
export const ABI_KERNEL: Readonly<Record<number, string>> = { 1: '5.13', 2: '5.19', 3: '6.2', 4: '6.7', 5: '6.10', 6: '6.12', 7: '6.15' };

/** The filesystem rights a ruleset at `abi` can handle. */
export function fsRightsOf(abi: number): number {
  let mask = 0;
  for (const [name, bit] of Object.entries(ACCESS_FS)) if (abi >= (FS_RIGHT_ABI[name as AccessFsName] ?? 1)) mask |= bit;
  return abi >= 1 ? mask : 0;
}

/**
 * The rights a rule on a file (not a directory) may carry; the kernel refuses the others
 * with EINVAL on a file, since they act on a directory's entries.
 */
export const FILE_RIGHTS = ACCESS_FS.EXECUTE | ACCESS_FS.WRITE_FILE | ACCESS_FS.READ_FILE | ACCESS_FS.TRUNCATE | ACCESS_FS.IOCTL_DEV;

/** O_PATH, the same on x86_64 and aarch64: an fd that names a file without opening it. */
export const O_PATH = 0o10000000;
