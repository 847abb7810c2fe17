import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  SYSCALLS_AARCH64,
  SYSCALLS_AARCH64_KERNEL,
  SYSCALLS_I386,
  SYSCALLS_X32,
  SYSCALLS_X86_64,
  SYSCALLS_X86_64_KERNEL,
  X32_SYSCALL_BIT,
  hostArch,
  syscallName,
  syscallNumber,
  syscallTable,
} from '../src/syscalls/index.js';
import type { SyscallAbi } from '../src/syscalls/index.js';

const ABIS: readonly SyscallAbi[] = ['x86_64', 'x32', 'i386', 'aarch64'];

// Added after Linux 6.1, so a table built from this machine's 6.1 headers would lack them.
const NEWER_THAN_6_1 = [
  'cachestat',
  'fchmodat2',
  'map_shadow_stack',
  'futex_wake',
  'futex_wait',
  'futex_requeue',
  'statmount',
  'listmount',
  'lsm_get_self_attr',
  'lsm_set_self_attr',
  'lsm_list_modules',
  'mseal',
  'setxattrat',
  'getxattrat',
  'listxattrat',
  'removexattrat',
  'open_tree_attr',
  'file_getattr',
  'file_setattr',
];

describe('syscall tables', () => {
  it('come from a current kernel', () => {
    expect(SYSCALLS_X86_64_KERNEL).toBe('6.18');
    expect(SYSCALLS_AARCH64_KERNEL).toBe('6.18');
  });

  it('hold known x86_64 numbers', () => {
    expect(SYSCALLS_X86_64.read).toBe(0);
    expect(SYSCALLS_X86_64.openat).toBe(257);
    expect(SYSCALLS_X86_64.clone3).toBe(435);
    expect(SYSCALLS_X86_64.mseal).toBe(462);
    expect(SYSCALLS_X86_64.security).toBe(185); // named slot with no entry point
  });

  it('hold known aarch64 numbers', () => {
    expect(SYSCALLS_AARCH64.openat).toBe(56);
    expect(SYSCALLS_AARCH64.clone).toBe(220);
    expect(SYSCALLS_AARCH64.execve).toBe(221);
    expect(SYSCALLS_AARCH64.mseal).toBe(462);
    // arm64's extra ABIs from Makefile.syscalls, and its 64-bit names.
    expect(SYSCALLS_AARCH64.renameat).toBe(38);
    expect(SYSCALLS_AARCH64.getrlimit).toBe(163);
    expect(SYSCALLS_AARCH64.memfd_secret).toBe(447);
    expect(SYSCALLS_AARCH64.fstat).toBe(80);
    expect(syscallTable('aarch64')).not.toHaveProperty('open');
    expect(syscallTable('aarch64')).not.toHaveProperty('fcntl64');
  });

  it('keep the x32 bit out of x32 numbers', () => {
    expect(X32_SYSCALL_BIT).toBe(0x40000000);
    expect(SYSCALLS_X32.read).toBe(0);
    expect(SYSCALLS_X32.rt_sigaction).toBe(512);
    expect(SYSCALLS_X32.execve).toBe(520);
    expect(SYSCALLS_I386.openat).toBe(295);
  });

  it.each(['x86_64', 'aarch64'] as const)('has the calls newer than Linux 6.1 on %s', (arch) => {
    for (const name of NEWER_THAN_6_1) expect(syscallNumber(arch, name), name).toBeTypeOf('number');
  });

  it('has the x86-only uretprobe on x86_64 and not on aarch64', () => {
    expect(syscallNumber('x86_64', 'uretprobe')).toBe(335);
    expect(syscallNumber('aarch64', 'uretprobe')).toBeUndefined();
  });

  it.each(ABIS)('has unique names and numbers in %s', (abi) => {
    const entries = Object.entries(syscallTable(abi));
    expect(entries.length).toBeGreaterThan(300);
    expect(new Set(entries.map(([name]) => name)).size).toBe(entries.length);
    expect(new Set(entries.map(([, nr]) => nr)).size).toBe(entries.length);
    for (const [, nr] of entries) expect(Number.isInteger(nr) && nr >= 0).toBe(true);
  });

  it('maps numbers back to names', () => {
    expect(syscallName('x86_64', 257)).toBe('openat');
    expect(syscallName('aarch64', 56)).toBe('openat');
    expect(syscallName('x86_64', 400)).toBeUndefined(); // the unused 387..423 gap
    expect(syscallName('x86_64', 257)).toBe('openat'); // served from the cached map
  });

  it('does not mistake Object.prototype members for syscalls', () => {
    expect(syscallNumber('x86_64', 'toString')).toBeUndefined();
    expect(syscallNumber('x86_64', 'constructor')).toBeUndefined();
  });

  it('names the host arch', () => {
    if (process.arch === 'x64') expect(hostArch()).toBe('x86_64');
    else if (process.arch === 'arm64') expect(hostArch()).toBe('aarch64');
    else expect(() => hostArch()).toThrow(process.arch);
  });
});

// The installed UAPI header is older than the tables but must agree on every name it has.
const HEADER = ['/usr/include/x86_64-linux-gnu/asm/unistd_64.h', '/usr/include/asm/unistd_64.h'].find((path) =>
  existsSync(path),
);

describe.skipIf(HEADER === undefined)('installed unistd_64.h', () => {
  it('agrees with SYSCALLS_X86_64 on every __NR_ it defines', () => {
    const text = readFileSync(HEADER!, 'utf8');
    const defines = [...text.matchAll(/^#define __NR_(\w+)\s+(\d+)\s*$/gm)];
    expect(defines.length).toBeGreaterThan(300);
    const table = syscallTable('x86_64');
    for (const [, name, nr] of defines) expect(table[name!], `__NR_${name!}`).toBe(Number(nr));
  });
});
