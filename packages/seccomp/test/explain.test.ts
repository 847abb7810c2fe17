import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../src/compile.js';
import { explainSyscall } from '../src/interpret.js';
import type { SeccompPolicy } from '../src/options.js';

const policy: SeccompPolicy = {
  defaultAction: { errno: 'EPERM' },
  rules: [
    { names: ['read', 'write', 'exit_group'], action: 'allow' },
    { names: ['openat'], action: 'allow', args: [{ index: 2, op: 'masked==', value: 0, mask: 3 }], comment: 'read-only opens' },
    { names: ['mount'], action: 'kill-process' },
  ],
};

describe('explainSyscall', () => {
  it('answers "what happens to mount" from a policy, naming the rule', () => {
    const mount = explainSyscall(policy, 'x86_64', 'mount');
    expect(mount).toMatchObject({ abi: 'x86_64', syscall: 'mount', nr: 165, action: 'kill-process', reason: 'rule', rule: 'seccomp.rules[2]' });
    expect(mount.text).toBe('mount (x86_64 165): kill-process, by seccomp.rules[2]');
    expect(explainSyscall(policy, 'aarch64', 'mount').nr).toBe(40);
    expect(explainSyscall(policy, 'x86_64', 'chdir').text).toBe('chdir (x86_64 80): errno EPERM (1), by the default action');
  });

  it('takes arguments, numbers, and explains bad-arch answers', () => {
    expect(explainSyscall(policy, 'x86_64', { syscall: 'openat', args: [-100, 0, 0] }).action).toBe('allow');
    const writing = explainSyscall(policy, 'x86_64', { syscall: 'openat', args: [-100, 0, 1] });
    expect(writing.text).toBe('openat(0xffffffffffffff9c, 0x0, 0x1) (x86_64 257): errno EPERM (1), by the default action');
    expect(explainSyscall(policy, 'x86_64', { syscall: 0 }).syscall).toBe('read');
    expect(explainSyscall(policy, 'i386', 'read')).toMatchObject({ action: 'kill-process', reason: 'bad-arch' });
  });

  it('works on compiled filters and raw BPF too', () => {
    const filter = compilePolicy(policy, 'x86_64');
    expect(explainSyscall(filter, 'x86_64', 'mount').rule).toBe('seccomp.rules[2]');
    const raw = explainSyscall(filter.bytes, 'x86_64', 'mount');
    expect(raw.action).toBe('kill-process');
    expect(raw.rule).toBeUndefined();
    expect(raw.executed).toBeGreaterThan(2);
  });

  it('rejects a name the ABI lacks', () => {
    expect(() => explainSyscall(policy, 'aarch64', 'open')).toThrow(expect.objectContaining({ code: 'ISO_INVALID_OPTIONS', path: 'syscall' }));
  });
});
