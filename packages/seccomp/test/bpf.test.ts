import { describe, expect, it } from 'vitest';
import { MAX_ERRNO, SECCOMP_RET, actionPrecedence, decodeAction, encodeAction, formatAction } from '../src/actions.js';
import { AUDIT_ARCH, BPF, SECCOMP_DATA, argHigh, argLow, decodeFilter, encodeFilter } from '../src/bpf.js';
import type { BpfInstruction } from '../src/bpf.js';
import { checkFilter, disassemble, runFilter, seccompDataWords, traceFilter } from '../src/interpret.js';

const insn = (code: number, k = 0, jt = 0, jf = 0): BpfInstruction => ({ code, jt, jf, k });
const LD = BPF.LD | BPF.W | BPF.ABS;
const RET = BPF.RET | BPF.K;

describe('BPF basics', () => {
  it('encodes struct sock_filter as u16 code, u8 jt, u8 jf, u32 k, little-endian', () => {
    const bytes = encodeFilter([insn(BPF.JMP | BPF.JEQ | BPF.K, 0xc000003e, 1, 2), insn(RET, SECCOMP_RET.ALLOW)]);
    expect([...bytes]).toEqual([0x15, 0x00, 0x01, 0x02, 0x3e, 0x00, 0x00, 0xc0, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x7f]);
    expect(decodeFilter(bytes)).toEqual([insn(0x15, 0xc000003e, 1, 2), insn(0x06, 0x7fff0000)]);
    expect(() => decodeFilter(new Uint8Array(7))).toThrow(RangeError);
  });

  it('knows the seccomp_data layout and AUDIT_ARCH values', () => {
    expect(SECCOMP_DATA).toEqual({ nr: 0, arch: 4, instructionPointer: 8, args: 16, size: 64 });
    expect([argLow(0), argHigh(0), argLow(5), argHigh(5)]).toEqual([16, 20, 56, 60]);
    expect(AUDIT_ARCH).toEqual({ x86_64: 0xc000003e, i386: 0x40000003, aarch64: 0xc00000b7, arm: 0x40000028 });
    const words = seccompDataWords({ nr: 59, arch: AUDIT_ARCH.x86_64, instructionPointer: 0x1122334455667788n, args: [-1, 0x100000002n] });
    expect([...words.slice(0, 8)]).toEqual([59, 0xc000003e, 0x55667788, 0x11223344, 0xffffffff, 0xffffffff, 2, 1]);
  });

  it('encodes, decodes and ranks the SECCOMP_RET actions as the kernel does', () => {
    expect(SECCOMP_RET).toMatchObject({
      KILL_PROCESS: 0x80000000,
      KILL_THREAD: 0,
      TRAP: 0x30000,
      ERRNO: 0x50000,
      USER_NOTIF: 0x7fc00000,
      TRACE: 0x7ff00000,
      LOG: 0x7ffc0000,
      ALLOW: 0x7fff0000,
    });
    expect(encodeAction({ errno: 'EPERM' }, 'x')).toBe(0x50001);
    expect(encodeAction({ errno: 38 }, 'x')).toBe(0x50026);
    expect(encodeAction({ trace: 7 }, 'x')).toBe(0x7ff00007);
    expect(encodeAction('kill-process', 'x')).toBe(0x80000000);
    expect(decodeAction(0x50001)).toEqual({ action: 'errno', data: 1, value: 0x50001 });
    expect(decodeAction(0x5ffff).data).toBe(MAX_ERRNO); // the kernel clamps
    expect(decodeAction(0x12340000).action).toBe('kill-process'); // unknown actions kill
    const order = ['kill-process', 'kill-thread', 'trap', { errno: 1 }, 'notify', { trace: 1 }, 'log', 'allow'] as const;
    const ranks = order.map((a) => actionPrecedence(encodeAction(a, 'x')));
    expect([...ranks].sort((a, b) => a - b)).toEqual(ranks);
    expect(formatAction(0x50001)).toBe('errno EPERM (1)');
  });

  it('rejects bad actions with ISO_INVALID_OPTIONS naming the path', () => {
    expect(() => encodeAction({ errno: 4096 }, 'seccomp.defaultAction')).toThrow(expect.objectContaining({ code: 'ISO_INVALID_OPTIONS', path: 'seccomp.defaultAction.errno' }));
    expect(() => encodeAction({ errno: 'ENOPE' }, 'p')).toThrow(/unknown errno name/);
    expect(() => encodeAction({ trace: 70000 }, 'p')).toThrow(expect.objectContaining({ path: 'p.trace' }));
    expect(() => encodeAction('deny' as never, 'p')).toThrow(expect.objectContaining({ code: 'ISO_INVALID_OPTIONS' }));
  });
});

describe('the interpreter', () => {
  it('runs loads, ALU, scratch memory and every jump kind', () => {
    const program = [
      insn(LD, SECCOMP_DATA.nr), // 0
      insn(BPF.ALU | BPF.ADD | BPF.K, 1), // 1: A = nr + 1
      insn(BPF.ST, 3), // 2: M[3] = A
      insn(BPF.LDX | BPF.IMM, 2), // 3: X = 2
      insn(BPF.ALU | BPF.MUL | BPF.X), // 4: A *= 2
      insn(BPF.ALU | BPF.RSH | BPF.K, 1), // 5: A >>= 1
      insn(BPF.MISC | BPF.TAX), // 6: X = A
      insn(BPF.LD | BPF.MEM, 3), // 7: A = M[3]
      insn(BPF.JMP | BPF.JEQ | BPF.X, 0, 0, 3), // 8: A == X ?
      insn(BPF.JMP | BPF.JSET | BPF.K, 1, 0, 1), // 9: odd?
      insn(RET, SECCOMP_RET.ERRNO | 1), // 10
      insn(BPF.JMP | BPF.JA, 1), // 11
      insn(RET, SECCOMP_RET.KILL_PROCESS), // 12 (never)
      insn(RET, SECCOMP_RET.ALLOW), // 13
    ];
    checkFilter(program);
    expect(runFilter(program, { nr: 0, arch: 0 }).action).toBe('errno'); // A = 1, odd
    expect(runFilter(program, { nr: 1, arch: 0 }).action).toBe('allow'); // A = 2, even → ja → allow
    expect(traceFilter(program, { nr: 1, arch: 0 }).path).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13]);
    // Division by a zero X returns 0 (KILL_THREAD), as the kernel's conversion does.
    expect(runFilter([insn(BPF.LDX | BPF.IMM, 0), insn(BPF.ALU | BPF.DIV | BPF.X), insn(RET, SECCOMP_RET.ALLOW)], { nr: 0, arch: 0 }).action).toBe('kill-thread');
    expect(runFilter([insn(LD, SECCOMP_DATA.arch), insn(BPF.RET | BPF.A)], { nr: 0, arch: SECCOMP_RET.ALLOW }).action).toBe('allow');
  });

  it('rejects what the kernel rejects, naming the instruction', () => {
    const reject = (program: BpfInstruction[], pattern: RegExp) => { expect(() => { checkFilter(program); }).toThrow(expect.objectContaining({ code: 'ISO_INVALID_OPTIONS', path: 'filter', message: expect.stringMatching(pattern) })); };
    reject([], /1 to 4096 instructions/);
    reject([insn(LD, 2), insn(RET)], /instruction 0: load of seccomp_data offset 2/);
    reject([insn(LD, 64), insn(RET)], /offset 64/);
    reject([insn(BPF.LD | BPF.B | BPF.ABS, 0), insn(RET)], /opcode 0x30 is not allowed/);
    reject([insn(BPF.JMP | BPF.JEQ | BPF.K, 0, 5, 0), insn(RET)], /jump past the end/);
    reject([insn(LD, 0)], /must end with a return/);
    reject([insn(BPF.ALU | BPF.DIV | BPF.K, 0), insn(RET)], /division by zero/);
    reject([insn(BPF.LD | BPF.MEM, 1), insn(RET)], /slot 1 read before it is written/);
    reject(Array.from({ length: 4097 }, () => insn(RET)), /1 to 4096/);
    expect(() => runFilter(new Uint8Array(12), { nr: 0, arch: 0 })).toThrow(/multiple of 8 bytes/);
    // What plain JavaScript may pass for instructions: fields that do not fit struct sock_filter.
    reject([{ ...insn(RET), k: 2 ** 32 }], /instruction 0: k must be an integer from 0 to 4294967295/);
    reject([{ ...insn(RET), jt: 256 }], /jt must be an integer from 0 to 255/);
    reject([{ ...insn(RET), code: '6' as unknown as number }], /code must be an integer/);
    reject([null as unknown as BpfInstruction], /instruction 0: expected \{ code, jt, jf, k \}/);
    reject(new Array<BpfInstruction>(2), /instruction 0: expected/);
    reject('ret' as unknown as BpfInstruction[], /expected a compiled filter/);
    reject(null as unknown as BpfInstruction[], /expected a compiled filter/);
    expect(() => runFilter(42 as unknown as Uint8Array, { nr: 0, arch: 0 })).toThrow(expect.objectContaining({ code: 'ISO_INVALID_OPTIONS', path: 'filter' }));
  });

  it('disassembles with absolute jump targets and named actions', () => {
    const text = disassemble([insn(LD, 4), insn(BPF.JMP | BPF.JEQ | BPF.K, AUDIT_ARCH.x86_64, 0, 1), insn(RET, SECCOMP_RET.ALLOW), insn(RET, SECCOMP_RET.ERRNO | 1)]);
    expect(text).toBe('0: ld  arch\n1: jeq  #0xc000003e  jt 2  jf 3\n2: ret  allow\n3: ret  errno EPERM (1)\n');
  });
});
