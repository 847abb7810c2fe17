// Syscall numbers per ABI, generated from the kernel's own tables (see
// packages/core/scripts/gen-syscalls.mjs) rather than from installed headers, which lag the
// running kernel and would miss newer calls.

import { SYSCALLS_AARCH64 } from './aarch64.js';
import { SYSCALLS_I386 } from './i386.js';
import { SYSCALLS_X32 } from './x32.js';
import { SYSCALLS_X86_64 } from './x86_64.js';
import { unsupportedPlatform } from '../errors.js';

export { SYSCALLS_AARCH64, SYSCALLS_AARCH64_KERNEL } from './aarch64.js';
export { SYSCALLS_I386, SYSCALLS_I386_KERNEL } from './i386.js';
export { SYSCALLS_X32, SYSCALLS_X32_KERNEL, X32_SYSCALL_BIT } from './x32.js';
export { SYSCALLS_X86_64, SYSCALLS_X86_64_KERNEL } from './x86_64.js';

/** A machine iso runs on. */
export type Arch = 'x86_64' | 'aarch64';

/**
 * A syscall name known to one of the native tables. Plans name their calls with it, so a
 * typo fails typecheck; buildProgram still refuses a name the target arch lacks.
 */
export type SyscallName = keyof typeof SYSCALLS_X86_64 | keyof typeof SYSCALLS_AARCH64;

/** A syscall numbering: the two native ones plus the compat ABIs an x86_64 kernel also accepts. */
export type SyscallAbi = Arch | 'x32' | 'i386';

const TABLES: Readonly<Record<SyscallAbi, Readonly<Record<string, number>>>> = {
  x86_64: SYSCALLS_X86_64,
  x32: SYSCALLS_X32,
  i386: SYSCALLS_I386,
  aarch64: SYSCALLS_AARCH64,
};

/** The name-to-number table of an ABI. x32 numbers leave out X32_SYSCALL_BIT. */
export function syscallTable(abi: SyscallAbi): Readonly<Record<string, number>> {
  return TABLES[abi];
}

/** The number of `name` on `arch`, or undefined if that kernel has no such syscall. */
export function syscallNumber(arch: Arch, name: string): number | undefined {
  const table = TABLES[arch];
  // Own properties only: a plain lookup would also find Object.prototype members ("toString").
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

// Reverse maps are only needed to name numbers in errors and traces, so build each on first use.
const names = new Map<SyscallAbi, ReadonlyMap<number, string>>();

/** The name of syscall `nr` in `abi`, or undefined if the number is unassigned. */
export function syscallName(abi: SyscallAbi, nr: number): string | undefined {
  let byNumber = names.get(abi);
  if (byNumber === undefined) {
    byNumber = new Map(Object.entries(TABLES[abi]).map(([name, number]) => [number, name]));
    names.set(abi, byNumber);
  }
  return byNumber.get(nr);
}

/** The architecture of this process, named as the kernel names it. */
export function hostArch(): Arch {
  // Not a switch: the lint rule wants every other process.arch value listed as a case.
  if (process.arch === 'x64') return 'x86_64';
  if (process.arch === 'arm64') return 'aarch64';
  throw unsupportedPlatform();
}
