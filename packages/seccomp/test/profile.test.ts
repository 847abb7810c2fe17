import { readFileSync } from 'node:fs';
import { syscallNumber } from '@iso/core';
import { dockerFormatProfiles } from '@iso/test-kit';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../src/compile.js';
import { explainSyscall } from '../src/interpret.js';
import type { SeccompAbi } from '../src/options.js';
import { normalizePolicy } from '../src/policy.js';
import { DEFAULT_ALLOWED, DEFAULT_CAPABILITY_CALLS, defaultProfile } from '../src/profile.js';

const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWNS = 0x20000;
const CLONE_VM_FS_FILES_SIGHAND_THREAD = 0x100 | 0x200 | 0x400 | 0x800 | 0x10000;

function verdict(keptCaps: string[], abi: SeccompAbi, syscall: string, args: (number | bigint)[] = []) {
  return explainSyscall(defaultProfile({ keptCaps }), abi, { syscall, args });
}

describe('the built-in default profile', () => {
  it('is a valid policy on both machines, with every name known to iso’s tables', () => {
    expect(() => normalizePolicy(defaultProfile())).not.toThrow();
    expect(() => compilePolicy(defaultProfile(), 'x86_64')).not.toThrow();
    expect(() => compilePolicy(defaultProfile(), 'aarch64')).not.toThrow();
    expect(new Set(DEFAULT_ALLOWED).size).toBe(DEFAULT_ALLOWED.length);
  });

  it('allows ordinary programs: files, memory, threads, sockets', () => {
    for (const abi of ['x86_64', 'aarch64'] as const)
      for (const name of ['read', 'openat', 'mmap', 'execve', 'futex', 'exit_group', 'rt_sigreturn', 'getrandom', 'statx', 'landlock_create_ruleset'])
        expect([abi, name, verdict([], abi, name).action]).toEqual([abi, name, 'allow']);
    expect(verdict([], 'x86_64', 'clone', [CLONE_VM_FS_FILES_SIGHAND_THREAD]).action).toBe('allow'); // a thread
    expect(verdict([], 'aarch64', 'clone', [0x11]).action).toBe('allow'); // fork: SIGCHLD
    expect(verdict([], 'x86_64', 'socket', [2]).action).toBe('allow'); // AF_INET
    expect(verdict([], 'x86_64', 'socket', [1]).action).toBe('allow'); // AF_UNIX
    expect(verdict([], 'x86_64', 'unshare', [0x200]).action).toBe('allow'); // CLONE_FS
    expect(verdict([], 'x86_64', 'personality', [0xffffffff]).action).toBe('allow');
  });

  // Stricter than Docker and Podman by design (see README): the calls a kept capability
  // unlocks, such as the mount family, ptrace and clock tuning.
  const gatedByCapability = new Set(Object.values(DEFAULT_CAPABILITY_CALLS).flat());

  it.each(dockerFormatProfiles())('allows everything $name allows unconditionally, but for the calls it gates by capability', ({ path }) => {
    const profile = JSON.parse(readFileSync(path, 'utf8')) as { syscalls: { names: string[]; action: string; args?: unknown[] | null; includes?: object; excludes?: object }[] };
    const unconditional = profile.syscalls
      .filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args?.length && Object.keys(r.includes ?? {}).length === 0 && Object.keys(r.excludes ?? {}).length === 0)
      .flatMap((r) => r.names);
    expect(unconditional.length).toBeGreaterThan(250);
    for (const abi of ['x86_64', 'aarch64'] as const) {
      const missing = unconditional.filter((name) => syscallNumber(abi, name) !== undefined && !gatedByCapability.has(name) && verdict([], abi, name).action !== 'allow');
      expect([abi, missing]).toEqual([abi, []]);
    }
  });

  it('denies new namespaces, clone3 (ENOSYS), AF_ALG and AF_VSOCK, odd personalities', () => {
    expect(verdict([], 'x86_64', 'clone', [CLONE_NEWUSER | 0x11])).toMatchObject({ action: 'errno', data: 1 });
    expect(verdict([], 'aarch64', 'clone', [CLONE_NEWNS])).toMatchObject({ action: 'errno', data: 1 });
    expect(verdict([], 'x86_64', 'unshare', [CLONE_NEWUSER])).toMatchObject({ action: 'errno', data: 1 });
    expect(verdict([], 'x86_64', 'unshare', [0x80])).toMatchObject({ action: 'errno', data: 1 }); // CLONE_NEWTIME
    expect(verdict([], 'x86_64', 'setns')).toMatchObject({ action: 'errno', data: 1 });
    expect(verdict([], 'x86_64', 'clone3')).toMatchObject({ action: 'errno', data: 38 });
    for (const family of [38, 40, 41, 45, 0x1_0000_0026n])
      expect([family, verdict([], 'x86_64', 'socket', [family]).action]).toEqual([family, 'errno']);
    expect(verdict([], 'x86_64', 'personality', [0x400000]).action).toBe('errno'); // READ_IMPLIES_EXEC
  });

  it('denies the dangerous calls unless the capability that governs them is kept', () => {
    const denied: [string, string][] = [
      ['mount', 'CAP_SYS_ADMIN'],
      ['umount2', 'CAP_SYS_ADMIN'],
      ['fsopen', 'CAP_SYS_ADMIN'],
      ['fsmount', 'CAP_SYS_ADMIN'],
      ['move_mount', 'CAP_SYS_ADMIN'],
      ['open_tree', 'CAP_SYS_ADMIN'],
      ['pivot_root', 'CAP_SYS_ADMIN'],
      ['keyctl', 'CAP_SYS_ADMIN'],
      ['add_key', 'CAP_SYS_ADMIN'],
      ['request_key', 'CAP_SYS_ADMIN'],
      ['io_uring_setup', 'CAP_SYS_ADMIN'],
      ['io_uring_enter', 'CAP_SYS_ADMIN'],
      ['bpf', 'CAP_BPF'],
      ['perf_event_open', 'CAP_PERFMON'],
      ['ptrace', 'CAP_SYS_PTRACE'],
      ['userfaultfd', 'CAP_SYS_PTRACE'],
      ['kexec_load', 'CAP_SYS_BOOT'],
      ['kexec_file_load', 'CAP_SYS_BOOT'],
      ['reboot', 'CAP_SYS_BOOT'],
      ['init_module', 'CAP_SYS_MODULE'],
      ['finit_module', 'CAP_SYS_MODULE'],
      ['delete_module', 'CAP_SYS_MODULE'],
      ['clock_settime', 'CAP_SYS_TIME'],
      ['settimeofday', 'CAP_SYS_TIME'],
      ['adjtimex', 'CAP_SYS_TIME'],
      ['clock_adjtime', 'CAP_SYS_TIME'],
      ['unshare', 'CAP_SYS_ADMIN'],
      ['setns', 'CAP_SYS_ADMIN'],
    ];
    for (const abi of ['x86_64', 'aarch64'] as const)
      for (const [name, capability] of denied) {
        expect([abi, name, 'no caps', verdict([], abi, name, [CLONE_NEWUSER]).action]).toEqual([abi, name, 'no caps', 'errno']);
        expect([abi, name, capability, verdict([capability], abi, name, [CLONE_NEWUSER]).action]).toEqual([abi, name, capability, 'allow']);
      }
    // CAP_SYS_ADMIN also lifts the clone flag filter and clone3's ENOSYS.
    expect(verdict(['CAP_SYS_ADMIN'], 'x86_64', 'clone', [CLONE_NEWUSER]).action).toBe('allow');
    expect(verdict(['CAP_SYS_ADMIN'], 'x86_64', 'clone3').action).toBe('allow');
    expect(Object.keys(DEFAULT_CAPABILITY_CALLS)).toContain('CAP_SYS_ADMIN');
  });

  it('kills i386 and x32 calls on x86_64 (32-bit arm on aarch64)', () => {
    expect(verdict([], 'i386', 'read').action).toBe('kill-process');
    expect(verdict([], 'x32', 'read').action).toBe('kill-process');
  });
});
