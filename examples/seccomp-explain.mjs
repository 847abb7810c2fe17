// Compiles seccomp policies and says what they would do to a few syscalls, without
// spawning anything. Run after scripts/setup.sh (or npm run example) has built iso:
//   node examples/seccomp-explain.mjs
import { compilePolicy, defaultProfile, explainSyscall, filterCost } from '@iso/seccomp';

const policy = {
  defaultAction: { errno: 'EPERM' },
  rules: [
    { names: ['read', 'write', 'close', 'exit_group', 'brk', 'mmap', 'munmap', 'rt_sigreturn'], action: 'allow' },
    // Opens for reading only: O_ACCMODE (3) bits clear.
    { names: ['openat'], action: 'allow', args: [{ index: 2, op: 'masked==', value: 0, mask: 3 }] },
    { names: ['ptrace', 'mount'], action: 'kill-process' },
  ],
};

for (const [title, target] of [
  ['a small policy', policy],
  ['the default profile (no capabilities kept)', defaultProfile()],
  ['the default profile with CAP_SYS_ADMIN', defaultProfile({ keptCaps: ['CAP_SYS_ADMIN'] })],
]) {
  const filter = compilePolicy(target, 'x86_64');
  const cost = filterCost(filter, 'x86_64');
  console.log(`${title}: ${cost.instructions} BPF instructions, median ${cost.median} executed per syscall`);
  for (const call of [
    'read',
    { syscall: 'openat', args: [-100, 0, 0] },
    { syscall: 'openat', args: [-100, 0, 2] },
    'mount',
    { syscall: 'clone', args: [0x10000000] },
    { syscall: 'socket', args: [40] },
  ])
    console.log(`  ${explainSyscall(filter, 'x86_64', call).text}`);
  console.log(`  ${explainSyscall(filter, 'i386', 'read').text}`);
}
