import { describe, expect, it } from 'vitest';
import { BPF, BPF_MAXINSNS, X32_SYSCALL_BIT } from '../src/bpf.js';
import { compilePolicy } from '../src/compile.js';
import { filterCost, runFilter } from '../src/interpret.js';
import type { SeccompPolicy } from '../src/options.js';
import { normalizePolicy } from '../src/policy.js';
import { defaultProfile } from '../src/profile.js';
import { ambiguousJumps, compareFilters, prng, randomOverlappingPolicy } from './differential.js';

const X86_64 = 0xc000003e;
const I386 = 0x40000003;
const AARCH64 = 0xc00000b7;
const ALLOW = 0x7fff0000;
const KILL = 0x80000000;

const run = (policy: SeccompPolicy, arch: 'x86_64' | 'aarch64', auditArch: number, nr: number, args: (bigint | number)[] = []) =>
  runFilter(compilePolicy(policy, arch), { arch: auditArch, nr, args }).value;

describe('the compiler', () => {
  it('checks the arch first and sends other arches to the bad-arch action', () => {
    const filter = compilePolicy({ defaultAction: 'allow' }, 'x86_64');
    expect(filter.instructions[0]).toEqual({ code: BPF.LD | BPF.W | BPF.ABS, jt: 0, jf: 0, k: 4 });
    expect(filter.bytes.length).toBe(8 * filter.instructions.length);
    expect(runFilter(filter, { arch: X86_64, nr: 0 }).value).toBe(ALLOW);
    expect(runFilter(filter, { arch: I386, nr: 0 }).value).toBe(KILL); // i386 is blocked by default
    expect(runFilter(filter, { arch: AARCH64, nr: 0 }).value).toBe(KILL);
    expect(run({ defaultAction: 'allow' }, 'aarch64', 0x40000028, 0)).toBe(KILL); // 32-bit arm on aarch64
  });

  it('blocks x32 calls on x86_64 unless x32 is listed, and then uses its own numbers', () => {
    const policy: SeccompPolicy = { defaultAction: 'allow', rules: [{ names: ['rt_sigaction'], action: { errno: 'EPERM' } }] };
    expect(run(policy, 'x86_64', X86_64, 13)).toBe(0x50001); // x86_64 rt_sigaction
    expect(run(policy, 'x86_64', X86_64, X32_SYSCALL_BIT | 512)).toBe(KILL); // x32 rt_sigaction: blocked
    expect(run(policy, 'x86_64', X86_64, 0xffffffff)).toBe(ALLOW); // -1, a tracer's skip, is x86_64's
    const withX32: SeccompPolicy = { ...policy, abis: ['x86_64', 'x32', 'aarch64'] };
    expect(run(withX32, 'x86_64', X86_64, X32_SYSCALL_BIT | 512)).toBe(0x50001);
    expect(run(withX32, 'x86_64', X86_64, X32_SYSCALL_BIT | 13)).toBe(ALLOW); // 13 is not rt_sigaction on x32
  });

  it('gives i386 its own numbers and compares only the low 32 bits there', () => {
    const policy: SeccompPolicy = {
      defaultAction: 'allow',
      abis: ['x86_64', 'i386', 'aarch64'],
      rules: [
        { names: ['socketcall'], action: 'kill-process', abis: ['i386'] },
        { names: ['read'], action: { errno: 'EIO' }, args: [{ index: 0, op: '==', value: (1n << 32n) + 5n }] },
      ],
    };
    expect(run(policy, 'x86_64', I386, 102)).toBe(KILL); // socketcall exists on i386 only
    expect(run(policy, 'x86_64', I386, 3, [5])).toBe(0x50005); // i386 read: low word 5 matches
    expect(run(policy, 'x86_64', X86_64, 0, [5])).toBe(ALLOW); // x86_64 read: all 64 bits
    expect(run(policy, 'x86_64', X86_64, 0, [(1n << 32n) + 5n])).toBe(0x50005);
  });

  it('compares 64-bit arguments as two halves, high word first, unsigned', () => {
    const policy: SeccompPolicy = {
      defaultAction: 'allow',
      rules: [
        { names: ['read'], action: 'trap', args: [{ index: 0, op: '>', value: 0x1_0000_0005n }] },
        { names: ['write'], action: 'trap', args: [{ index: 1, op: '<=', value: 0x1_0000_0000n }] },
        { names: ['close'], action: 'trap', args: [{ index: 0, op: 'masked==', value: 0x8000_0000_0000_0001n, mask: 0x8000_0000_0000_0001n }] },
      ],
    };
    const cases: [number, bigint[], boolean][] = [
      [0, [0x1_0000_0006n], true],
      [0, [0x1_0000_0005n], false],
      [0, [0x2_0000_0000n], true],
      [0, [0x0_ffff_ffffn], false],
      [0, [0xffff_ffff_ffff_ffffn], true],
      [1, [0n, 0x1_0000_0000n], true],
      [1, [0n, 0x1_0000_0001n], false],
      [1, [0n, 0xffff_ffffn], true],
      [3, [0x8000_0000_0000_0001n], true],
      [3, [0x8000_0000_0000_0000n], false],
      [3, [0x0000_0000_0000_0001n], false],
    ];
    const filter = compilePolicy(policy, 'x86_64');
    for (const [nr, args, trapped] of cases) expect([nr, args, runFilter(filter, { arch: X86_64, nr, args }).action]).toEqual([nr, args, trapped ? 'trap' : 'allow']);
  });

  it('uses a balanced tree, not a scan: the default profile decides any syscall in a few instructions', () => {
    for (const arch of ['x86_64', 'aarch64'] as const) {
      const cost = filterCost(compilePolicy(defaultProfile(), arch), arch);
      expect(cost.max).toBeLessThanOrEqual(20);
      expect(cost.median).toBeLessThanOrEqual(12);
    }
  });

  it('matches the reference meaning on overlapping rules, several conditions per argument and every ABI', () => {
    const rng = prng(7);
    let compared = 0;
    for (let i = 0; i < 150; i++) {
      const policy = randomOverlappingPolicy(rng);
      let normalized;
      try {
        normalized = normalizePolicy(policy);
      } catch {
        continue; // drew a conflict
      }
      for (const arch of ['x86_64', 'aarch64'] as const) {
        const filter = compilePolicy(normalized, arch);
        expect(ambiguousJumps(filter.instructions)).toEqual(new Set());
        // Compare the filter with itself as "theirs": only iso vs the reference matters here.
        const result = compareFilters(normalized, arch, filter, filter.instructions, new Map(), rng);
        compared += result.calls;
        expect(result.mismatches.slice(0, 3)).toEqual([]);
      }
    }
    expect(compared).toBeGreaterThan(100_000);
  });

  it('reaches far targets through trampolines when a program outgrows 8-bit jumps', () => {
    // One rule per syscall with its own argument tests: a long program, shared returns far away.
    const names = ['read', 'write', 'close', 'fstat', 'lseek', 'mmap', 'mprotect', 'munmap', 'brk', 'ioctl', 'pread64', 'pwrite64', 'readv', 'writev'];
    const policy: SeccompPolicy = {
      defaultAction: { errno: 'EPERM' },
      rules: names.flatMap((name, i) =>
        Array.from({ length: 6 }, (_, j) => ({ names: [name], action: j % 2 ? 'allow' : ('log' as const), args: [{ index: j % 3, op: '==' as const, value: BigInt(i * 100 + j) << 20n }] })),
      ),
    };
    const filter = compilePolicy(policy, 'x86_64');
    expect(filter.instructions.length).toBeGreaterThan(300);
    expect(filter.instructions.some((insn) => insn.code === (BPF.JMP | BPF.JA))).toBe(true);
    const normalized = normalizePolicy(policy);
    const result = compareFilters(normalized, 'x86_64', filter, filter.instructions, new Map(), prng(3));
    expect(result.mismatches.slice(0, 3)).toEqual([]);
  });

  it(`refuses a policy that needs more than BPF_MAXINSNS (${BPF_MAXINSNS}) instructions`, () => {
    const huge: SeccompPolicy = {
      defaultAction: 'allow',
      rules: Array.from({ length: 700 }, (_, i) => ({ names: ['ioctl'], action: 'trap' as const, args: [{ index: 1, op: '==' as const, value: BigInt(i) * 0x1_0001_0001n }, { index: 2, op: '>' as const, value: BigInt(i) }] })),
    };
    expect(() => compilePolicy(huge, 'x86_64')).toThrow(
      expect.objectContaining({ code: 'ISO_INVALID_OPTIONS', path: 'seccomp', message: expect.stringMatching(/the kernel takes at most 4096 \(BPF_MAXINSNS\)/) }),
    );
  });

  it('refuses to build for a machine the policy leaves out', () => {
    expect(() => compilePolicy({ abis: ['aarch64'] }, 'x86_64')).toThrow(expect.objectContaining({ path: 'seccomp.abis' }));
  });
});
