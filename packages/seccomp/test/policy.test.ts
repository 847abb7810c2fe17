import { describe, expect, it } from 'vitest';
import type { SeccompPolicy } from '../src/options.js';
import { evaluatePolicy, normalizePolicy } from '../src/policy.js';

const invalid = (policy: unknown, path: string, message?: RegExp) => { expect(() => normalizePolicy(policy as SeccompPolicy)).toThrow(
    expect.objectContaining({ code: 'ISO_INVALID_OPTIONS', isoCode: 'ISO_INVALID_OPTIONS', path, ...(message ? { message: expect.stringMatching(message) } : {}) }),
  ); };

describe('the typed policy', () => {
  it('has secure defaults: EPERM for the rest, kill for i386 and x32, native ABIs only', () => {
    const policy = normalizePolicy({});
    expect(policy.defaultAction).toBe(0x50001);
    expect(policy.badArchAction).toBe(0x80000000);
    expect(policy.abis).toEqual(['x86_64', 'aarch64']);
  });

  it('names a typo in a syscall name, with a suggestion', () => {
    const rules = [{ names: ['read'], action: 'allow' }, { names: ['write'], action: 'allow' }, { names: ['close'], action: 'allow' }, { names: ['opnat'], action: 'allow' }];
    invalid({ rules }, 'seccomp.rules[3].names[0]', /unknown syscall "opnat" for x86_64, aarch64 \(did you mean "openat"\?\)/);
  });

  it('accepts a name known to one of the ABIs, and applies it there only', () => {
    const policy = normalizePolicy({ rules: [{ names: ['open', 'openat'], action: 'allow' }] });
    expect(policy.table.get('x86_64')?.get(2)).toHaveLength(1); // open
    expect(policy.table.get('aarch64')?.get(56)).toHaveLength(1); // openat
    expect([...(policy.table.get('aarch64')?.keys() ?? [])]).toEqual([56]);
    // ...but a name unknown to every ABI the rule targets is an error.
    invalid({ rules: [{ names: ['open'], action: 'allow', abis: ['aarch64'] }] }, 'seccomp.rules[0].names[0]', /unknown syscall "open" for aarch64/);
  });

  it('skips unknown names when asked to (the Docker loader does)', () => {
    const policy = normalizePolicy({ unknownSyscalls: 'skip', rules: [{ names: ['chown32', 'nosuchcall', 'read'], action: 'allow' }] });
    expect(policy.rules[0]?.syscalls.get('x86_64')).toEqual([['read', 0]]);
  });

  it('rejects conflicting rules: same syscall and conditions, different actions', () => {
    const args = [{ index: 0, op: '==' as const, value: 1 }];
    invalid(
      { rules: [{ names: ['read', 'write'], action: 'allow', args }, { names: ['write'], action: { errno: 'EIO' }, args }] },
      'seccomp.rules[1]',
      /conflicts with seccomp.rules\[0\]: same syscall "write" \(x86_64\) and conditions, different action/,
    );
    // Same action twice is fine, and so are different conditions.
    expect(() => normalizePolicy({ rules: [{ names: ['write'], action: 'allow', args }, { names: ['write'], action: 'allow', args }] })).not.toThrow();
    expect(() => normalizePolicy({ rules: [{ names: ['write'], action: 'allow', args }, { names: ['write'], action: 'trap' }] })).not.toThrow();
  });

  it('rejects bad arguments: more than 6, bad index, bad op, masks', () => {
    const cond = { index: 0, op: '==', value: 0 };
    invalid({ rules: [{ names: ['read'], action: 'allow', args: Array.from({ length: 7 }, () => cond) }] }, 'seccomp.rules[0].args', /at most 6/);
    invalid({ rules: [{ names: ['read'], action: 'allow', args: [{ ...cond, index: 6 }] }] }, 'seccomp.rules[0].args[0].index');
    invalid({ rules: [{ names: ['read'], action: 'allow', args: [{ ...cond, index: 1.5 }] }] }, 'seccomp.rules[0].args[0].index');
    invalid({ rules: [{ names: ['read'], action: 'allow', args: [{ ...cond, op: '=~' }] }] }, 'seccomp.rules[0].args[0].op');
    invalid({ rules: [{ names: ['read'], action: 'allow', args: [{ ...cond, value: 2 ** 60 }] }] }, 'seccomp.rules[0].args[0].value', /bigint/);
    invalid({ rules: [{ names: ['read'], action: 'allow', args: [{ ...cond, value: 1n << 64n }] }] }, 'seccomp.rules[0].args[0].value', /64-bit/);
    invalid({ rules: [{ names: ['read'], action: 'allow', args: [{ index: 0, op: 'masked==', value: 3 }] }] }, 'seccomp.rules[0].args[0].mask');
    invalid({ rules: [{ names: ['read'], action: 'allow', args: [{ index: 0, op: 'masked==', value: 3, mask: 1 }] }] }, 'seccomp.rules[0].args[0].value', /outside the mask/);
    invalid({ rules: [{ names: ['read'], action: 'allow', args: [{ ...cond, mask: 1 }] }] }, 'seccomp.rules[0].args[0].mask');
  });

  it('rejects bad errnos, actions, ABIs and unknown keys', () => {
    invalid({ defaultAction: { errno: -1 } }, 'seccomp.defaultAction.errno');
    invalid({ rules: [{ names: ['read'], action: { errno: 5000 } }] }, 'seccomp.rules[0].action.errno');
    invalid({ defaultAction: 'notify' }, 'seccomp.defaultAction', /notify cannot be the default/);
    invalid({ abis: ['x86_64', 'sparc'] }, 'seccomp.abis[1]');
    invalid({ abis: ['i386', 'aarch64'] }, 'seccomp.abis', /list x86_64 too/);
    invalid({ rules: [{ names: ['read'], action: 'allow', abis: ['i386'] }] }, 'seccomp.rules[0].abis[0]', /not among the policy's abis/);
    invalid({ rulez: [] }, 'seccomp.rulez', /unknown option/);
    invalid({ rules: [{ names: ['read'], action: 'allow', arg: [] }] }, 'seccomp.rules[0].arg');
    invalid({ rules: [{ names: [], action: 'allow' }] }, 'seccomp.rules[0].names');
    invalid({ rules: 'read' }, 'seccomp.rules');
    // A rule's origin replaces its path in errors (Docker profiles use this).
    invalid({ rules: [{ names: ['read'], action: 'bogus', origin: 'seccomp.docker.syscalls[7]' }] }, 'seccomp.docker.syscalls[7].action');
  });

  it('compares unsigned 64-bit, with negative values as two’s complement', () => {
    const policy = normalizePolicy({
      defaultAction: 'allow',
      rules: [
        { names: ['openat'], action: { errno: 'EACCES' }, args: [{ index: 0, op: '==', value: -100 }] },
        { names: ['read'], action: 'trap', args: [{ index: 2, op: '>', value: 0xffffffff }] },
      ],
    });
    const call = (nr: number, args: (bigint | number)[]) => evaluatePolicy(policy, 'x86_64', { auditArch: 0xc000003e, nr, args }).value;
    expect(call(257, [0xffffffffffffff9cn])).toBe(0x5000d);
    expect(call(257, [0xffffff9c])).toBe(0x7fff0000); // only the low half of -100
    expect(call(0, [0, 0, 0x100000000n])).toBe(0x30000);
    expect(call(0, [0, 0, 0xffffffff])).toBe(0x7fff0000);
    expect(call(0, [0, 0, -1])).toBe(0x30000); // -1 is 2^64 - 1: huge, not negative
  });

  it('lets the most restrictive matching rule win, then the first listed', () => {
    const policy = normalizePolicy({
      defaultAction: 'allow',
      rules: [
        { names: ['socket'], action: 'log' },
        { names: ['socket'], action: { errno: 'EACCES' }, args: [{ index: 0, op: '==', value: 16 }] },
        { names: ['socket'], action: { errno: 'EPERM' }, args: [{ index: 1, op: '==', value: 3 }] },
        { names: ['socket'], action: 'kill-process', args: [{ index: 0, op: '==', value: 40 }] },
      ],
    });
    const call = (args: number[]) => evaluatePolicy(policy, 'x86_64', { auditArch: 0xc000003e, nr: 41, args });
    expect(call([2, 1]).value).toBe(0x7ffc0000);
    expect(call([16, 1]).value).toBe(0x5000d);
    expect(call([16, 3])).toMatchObject({ value: 0x5000d, rule: { path: 'seccomp.rules[1]' } });
    expect(call([40, 3]).value).toBe(0x80000000);
  });
});
