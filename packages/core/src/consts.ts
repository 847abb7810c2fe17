// Kernel constants the plans use, with names for explain(). Values are the same on x86_64
// and aarch64 unless a table says otherwise.

export type FlagTable = Readonly<Record<string, number>>;

export const CLONE = {
  CLONE_NEWTIME: 0x80,
  CLONE_NEWNS: 0x20000,
  CLONE_NEWCGROUP: 0x2000000,
  CLONE_NEWUTS: 0x4000000,
  CLONE_NEWIPC: 0x8000000,
  CLONE_NEWUSER: 0x10000000,
  CLONE_NEWPID: 0x20000000,
  CLONE_NEWNET: 0x40000000,
} as const satisfies FlagTable;

export const MS = {
  MS_RDONLY: 0x1,
  MS_NOSUID: 0x2,
  MS_NODEV: 0x4,
  MS_NOEXEC: 0x8,
  MS_REMOUNT: 0x20,
  MS_NOATIME: 0x400,
  MS_BIND: 0x1000,
  MS_MOVE: 0x2000,
  MS_REC: 0x4000,
  MS_SILENT: 0x8000,
  MS_PRIVATE: 0x40000,
  MS_SLAVE: 0x80000,
  MS_SHARED: 0x100000,
} as const satisfies FlagTable;

/** open(2) flags common to x86_64 and aarch64 (O_DIRECTORY and O_NOFOLLOW differ). */
export const O = {
  O_RDONLY: 0,
  O_WRONLY: 0x1,
  O_RDWR: 0x2,
  O_CREAT: 0x40,
  O_EXCL: 0x80,
  O_NOCTTY: 0x100,
  O_TRUNC: 0x200,
  O_APPEND: 0x400,
  O_NONBLOCK: 0x800,
  O_CLOEXEC: 0x80000,
} as const satisfies FlagTable;

export const AT_FDCWD = -100;

export const PR = {
  PR_SET_PDEATHSIG: 1,
  PR_SET_DUMPABLE: 4,
  PR_SET_NO_NEW_PRIVS: 38,
} as const;

/** Bit names for explain(); a value with unnamed bits shows the rest in hex. */
export function formatFlags(value: number | bigint, table: FlagTable): string {
  let rest = BigInt(value);
  if (rest === 0n) {
    const zero = Object.entries(table).find(([, v]) => v === 0);
    return zero ? zero[0] : '0';
  }
  const names: string[] = [];
  for (const [name, bit] of Object.entries(table)) {
    const b = BigInt(bit);
    if (b !== 0n && (rest & b) === b) {
      names.push(name);
      rest &= ~b;
    }
  }
  if (rest !== 0n) names.push(`0x${rest.toString(16)}`);
  return names.join('|');
}
