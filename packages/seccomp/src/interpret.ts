// A classic BPF interpreter with the kernel's rules for seccomp filters: it checks a
// program the way seccomp_check_filter() and bpf_check_classic() do, then runs it on a
// struct seccomp_data. Tests run iso's and libseccomp's filters through it; users get
// answers such as "what happens to mount under this profile" without loading anything.
import { describeValue, invalidOptions, syscallName } from '@iso/core';
import type { Arch } from '@iso/core';
import { decodeAction, formatAction } from './actions.js';
import type { DecodedAction } from './actions.js';
import { BPF, BPF_MAXINSNS, SECCOMP_DATA, X32_SYSCALL_BIT, decodeFilter, formatInstruction } from './bpf.js';
import type { BpfInstruction } from './bpf.js';
import { compilePolicy } from './compile.js';
import type { CompiledFilter } from './compile.js';
import type { SeccompAbi, SeccompPolicy } from './options.js';
import { archOfAbi, auditArchOf, evaluatePolicy, wireNumber } from './policy.js';
import type { NormalizedPolicy } from './policy.js';

/** A filter in any of its forms. */
export type FilterInput = CompiledFilter | Uint8Array | readonly BpfInstruction[];

/** The struct seccomp_data a filter sees for one call. */
export interface SeccompData {
  nr: number;
  /** AUDIT_ARCH_* value. */
  arch: number;
  instructionPointer?: bigint | number;
  /** Up to 6 arguments; missing ones are 0. */
  args?: readonly (bigint | number)[];
}

export interface FilterRun extends DecodedAction {
  /** Instructions executed, the return included. */
  executed: number;
}

const LOADS_OK = new Set<number>([
  BPF.LD | BPF.W | BPF.ABS,
  BPF.LD | BPF.W | BPF.LEN,
  BPF.LDX | BPF.W | BPF.LEN,
  BPF.RET | BPF.K,
  BPF.RET | BPF.A,
  BPF.ALU | BPF.NEG,
  BPF.LD | BPF.IMM,
  BPF.LDX | BPF.IMM,
  BPF.MISC | BPF.TAX,
  BPF.MISC | BPF.TXA,
  BPF.LD | BPF.MEM,
  BPF.LDX | BPF.MEM,
  BPF.ST,
  BPF.STX,
  BPF.JMP | BPF.JA,
]);
for (const op of [BPF.ADD, BPF.SUB, BPF.MUL, BPF.DIV, BPF.AND, BPF.OR, BPF.XOR, BPF.LSH, BPF.RSH])
  for (const src of [BPF.K, BPF.X]) LOADS_OK.add(BPF.ALU | op | src);
for (const op of [BPF.JEQ, BPF.JGE, BPF.JGT, BPF.JSET]) for (const src of [BPF.K, BPF.X]) LOADS_OK.add(BPF.JMP | op | src);

function bad(at: number, problem: string): never {
  throw invalidOptions('filter', `instruction ${at}: ${problem}`);
}

/**
 * Checks a program as the kernel does when it is loaded: seccomp's opcode allowlist,
 * aligned loads inside seccomp_data, in-range forward jumps, a return at the end, no
 * division by a zero constant, scratch memory written before it is read. Throws
 * ISO_INVALID_OPTIONS (path 'filter') naming the instruction.
 */
export function checkFilter(program: readonly BpfInstruction[]): void {
  const given: unknown = program;
  if (!Array.isArray(given)) throw invalidOptions('filter', 'expected a compiled filter, BPF bytes or an array of instructions');
  const length = program.length;
  if (length === 0 || length > BPF_MAXINSNS) throw invalidOptions('filter', `a filter has 1 to ${BPF_MAXINSNS} instructions, got ${length}`);
  // Plain JavaScript can hand anything (holes included): each field must fit struct sock_filter.
  for (let at = 0; at < length; at++) {
    const insn: unknown = program[at];
    if (typeof insn !== 'object' || insn === null) bad(at, 'expected { code, jt, jf, k }');
    for (const [name, max] of [['code', 0xffff], ['jt', 0xff], ['jf', 0xff], ['k', 0xffffffff]] as const) {
      const value = (insn as Record<string, unknown>)[name];
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) bad(at, `${name} must be an integer from 0 to ${max}`);
    }
  }
  program.forEach((insn, at) => {
    if (!LOADS_OK.has(insn.code)) bad(at, `opcode 0x${insn.code.toString(16)} is not allowed in seccomp filters`);
    const cls = insn.code & 0x07;
    if (insn.code === (BPF.LD | BPF.W | BPF.ABS) && (insn.k >= SECCOMP_DATA.size || insn.k % 4 !== 0))
      bad(at, `load of seccomp_data offset ${insn.k} (aligned, below ${SECCOMP_DATA.size})`);
    if (cls === BPF.ALU && (insn.code & 0xf0) === BPF.DIV && (insn.code & BPF.X) === 0 && insn.k === 0) bad(at, 'division by zero');
    if (cls === BPF.ALU && ((insn.code & 0xf0) === BPF.LSH || (insn.code & 0xf0) === BPF.RSH) && (insn.code & BPF.X) === 0 && insn.k >= 32)
      bad(at, 'shift by 32 or more');
    if ((insn.code === (BPF.LD | BPF.MEM) || insn.code === (BPF.LDX | BPF.MEM) || cls === BPF.ST || cls === BPF.STX) && insn.k >= 16)
      bad(at, `scratch memory slot ${insn.k} (0 to 15)`);
    if (cls === BPF.JMP) {
      if ((insn.code & 0xf0) === BPF.JA) {
        if (insn.k >= length - at - 1) bad(at, 'jump past the end');
      } else if (at + insn.jt + 1 >= length || at + insn.jf + 1 >= length) bad(at, 'jump past the end');
    }
  });
  const last = program[length - 1];
  if (!last || (last.code !== (BPF.RET | BPF.K) && last.code !== (BPF.RET | BPF.A))) bad(length - 1, 'a filter must end with a return');
  // check_load_and_stores(): a slot must be written on every path before it is read.
  const masks = new Array<number>(length).fill(0xffff);
  let valid = 0;
  program.forEach((insn, at) => {
    valid &= masks[at] ?? 0xffff;
    const cls = insn.code & 0x07;
    if (cls === BPF.ST || cls === BPF.STX) valid |= 1 << insn.k;
    else if (insn.code === (BPF.LD | BPF.MEM) || insn.code === (BPF.LDX | BPF.MEM)) {
      if ((valid & (1 << insn.k)) === 0) bad(at, `scratch memory slot ${insn.k} read before it is written`);
    } else if (cls === BPF.JMP) {
      const targets = (insn.code & 0xf0) === BPF.JA ? [at + 1 + insn.k] : [at + 1 + insn.jt, at + 1 + insn.jf];
      for (const target of targets) masks[target] = (masks[target] ?? 0xffff) & valid;
      valid = 0xffff;
    }
  });
}

const checked = new WeakMap<object, readonly BpfInstruction[]>();

/** The instructions of any filter form, checked once per object. */
export function filterInstructions(filter: FilterInput): readonly BpfInstruction[] {
  if (typeof filter !== 'object' || (filter as unknown) === null) throw invalidOptions('filter', 'expected a compiled filter, BPF bytes or an array of instructions');
  const cached = checked.get(filter);
  if (cached) return cached;
  let program: readonly BpfInstruction[];
  if (filter instanceof Uint8Array) {
    if (filter.length % 8 !== 0) throw invalidOptions('filter', `a filter is a multiple of 8 bytes, got ${filter.length}`);
    program = decodeFilter(filter);
  } else if ('instructions' in filter) {
    program = filter.instructions;
  } else {
    program = filter;
  }
  checkFilter(program);
  checked.set(filter, program);
  return program;
}

/** The two 32-bit halves of a 64-bit argument, [low, high]. */
function halves(value: bigint | number): [number, number] {
  if (typeof value === 'number' && value >= 0 && value <= 0xffffffff && Number.isInteger(value)) return [value, 0];
  const big = BigInt.asUintN(64, BigInt(value));
  return [Number(big & 0xffffffffn), Number(big >> 32n)];
}

/** struct seccomp_data as the 16 little-endian 32-bit words a filter can load. */
export function seccompDataWords(data: SeccompData): Uint32Array {
  const out = new Uint32Array(SECCOMP_DATA.size / 4);
  out[0] = data.nr >>> 0;
  out[1] = data.arch >>> 0;
  if (data.instructionPointer !== undefined) [out[2], out[3]] = halves(data.instructionPointer);
  const args = data.args ?? [];
  for (let i = 0; i < 6 && i < args.length; i++) {
    const arg = args[i];
    if (arg !== undefined) [out[4 + 2 * i], out[5 + 2 * i]] = halves(arg);
  }
  return out;
}

/**
 * Runs a filter on one call and returns the action, as the kernel would decide it.
 * `data` is the call, or struct seccomp_data as 16 words (seccompDataWords()).
 */
export function runFilter(filter: FilterInput, data: SeccompData | Uint32Array): FilterRun {
  return execute(filterInstructions(filter), data instanceof Uint32Array ? data : seccompDataWords(data), undefined);
}

/** runFilter(), plus the index of every instruction executed, in order. */
export function traceFilter(filter: FilterInput, data: SeccompData | Uint32Array): FilterRun & { path: number[] } {
  const path: number[] = [];
  const run = execute(filterInstructions(filter), data instanceof Uint32Array ? data : seccompDataWords(data), path);
  return { ...run, path };
}

function finish(value: number, executed: number): FilterRun {
  const decoded = decodeAction(value);
  return { action: decoded.action, data: decoded.data, value: decoded.value, executed };
}

// Opcodes as plain constants: the hot loop below should not look them up on an object.
const LD_ABS = BPF.LD | BPF.W | BPF.ABS;
const LD_LEN = BPF.LD | BPF.W | BPF.LEN;
const LD_IMM = BPF.LD | BPF.IMM;
const LDX_LEN = BPF.LDX | BPF.W | BPF.LEN;
const LDX_IMM = BPF.LDX | BPF.IMM;
const { LD, LDX, ST, STX, ALU, JMP, RET, MISC, ADD, SUB, MUL, DIV, AND, OR, XOR, LSH, RSH, NEG, JA, JEQ, JGT, JGE, X, A, TXA } = BPF;

/** A checked program as parallel typed arrays, for the interpreter. */
interface Compact {
  code: Uint16Array;
  jt: Uint8Array;
  jf: Uint8Array;
  k: Uint32Array;
}

const compacts = new WeakMap<readonly BpfInstruction[], Compact>();

function compact(program: readonly BpfInstruction[]): Compact {
  let out = compacts.get(program);
  if (!out) {
    out = { code: new Uint16Array(program.length), jt: new Uint8Array(program.length), jf: new Uint8Array(program.length), k: new Uint32Array(program.length) };
    program.forEach((insn, i) => {
      if (!out) return;
      out.code[i] = insn.code;
      out.jt[i] = insn.jt;
      out.jf[i] = insn.jf;
      out.k[i] = insn.k;
    });
    compacts.set(program, out);
  }
  return out;
}

function execute(program: readonly BpfInstruction[], memory: Uint32Array, path: number[] | undefined): FilterRun {
  const { code: codes, jt, jf, k: ks } = compact(program);
  const scratch = new Uint32Array(16);
  const length = codes.length;
  let a = 0;
  let x = 0;
  let executed = 0;
  for (let pc = 0; pc < length; pc++) {
    executed++;
    path?.push(pc);
    const code = codes[pc] ?? 0;
    const k = ks[pc] ?? 0;
    switch (code & 0x07) {
      case LD:
        if (code === LD_ABS) a = memory[k >>> 2] ?? 0;
        else if (code === LD_LEN) a = SECCOMP_DATA.size;
        else if (code === LD_IMM) a = k;
        else a = scratch[k] ?? 0;
        break;
      case LDX:
        if (code === LDX_LEN) x = SECCOMP_DATA.size;
        else if (code === LDX_IMM) x = k;
        else x = scratch[k] ?? 0;
        break;
      case ST:
        scratch[k] = a;
        break;
      case STX:
        scratch[k] = x;
        break;
      case ALU: {
        const operand = (code & X) === X ? x : k;
        switch (code & 0xf0) {
          case ADD:
            a = (a + operand) >>> 0;
            break;
          case SUB:
            a = (a - operand) >>> 0;
            break;
          case MUL:
            a = Math.imul(a, operand) >>> 0;
            break;
          case DIV:
            // Division by a zero X ends the program with 0, as the kernel's conversion does.
            if (operand === 0) return finish(0, executed);
            a = Math.floor(a / operand) >>> 0;
            break;
          case AND:
            a = (a & operand) >>> 0;
            break;
          case OR:
            a = (a | operand) >>> 0;
            break;
          case XOR:
            a = (a ^ operand) >>> 0;
            break;
          case LSH:
            a = (a << (operand & 31)) >>> 0;
            break;
          case RSH:
            a = a >>> (operand & 31);
            break;
          case NEG:
            a = -a >>> 0;
            break;
        }
        break;
      }
      case JMP: {
        const op = code & 0xf0;
        if (op === JA) {
          pc += k;
          break;
        }
        const operand = (code & X) === X ? x : k;
        const taken = op === JEQ ? a === operand : op === JGT ? a > operand : op === JGE ? a >= operand : (a & operand) !== 0;
        pc += taken ? (jt[pc] ?? 0) : (jf[pc] ?? 0);
        break;
      }
      case RET:
        return finish((code & A) === A ? a : k, executed);
      case MISC:
        if ((code & 0xf8) === TXA) a = x;
        else x = a;
        break;
    }
  }
  // checkFilter() guarantees a final return; this is not reached.
  return finish(0, executed);
}

/** The program as text, one numbered instruction a line, returns named as actions. */
export function disassemble(filter: FilterInput): string {
  const program = filterInstructions(filter);
  const digits = String(program.length - 1).length;
  return program.map((insn, at) => `${String(at).padStart(digits, '0')}: ${formatInstruction(insn, at, formatAction)}`).join('\n') + '\n';
}

/** What a filter costs on one ABI: size, and instructions executed per syscall. */
export interface FilterCost {
  instructions: number;
  /** Over every syscall number the ABI defines, called with zero arguments. */
  median: number;
  mean: number;
  max: number;
}

export function filterCost(filter: FilterInput, abi: SeccompAbi): FilterCost {
  const program = filterInstructions(filter);
  const arch = auditArchOf(abi);
  const counts: number[] = [];
  const words = new Uint32Array(SECCOMP_DATA.size / 4);
  words[1] = arch;
  for (const nr of allNumbers(abi)) {
    words[0] = nr;
    counts.push(execute(program, words, undefined).executed);
  }
  counts.sort((x, y) => x - y);
  const middle = counts.length / 2;
  const median = counts.length % 2 ? (counts[Math.floor(middle)] ?? 0) : ((counts[middle - 1] ?? 0) + (counts[middle] ?? 0)) / 2;
  return {
    instructions: program.length,
    median,
    mean: counts.reduce((s, c) => s + c, 0) / Math.max(1, counts.length),
    max: counts[counts.length - 1] ?? 0,
  };
}

function allNumbers(abi: SeccompAbi): number[] {
  const out: number[] = [];
  for (let nr = 0; nr < 1024; nr++) {
    const wire = abi === 'x32' ? (nr | X32_SYSCALL_BIT) >>> 0 : nr;
    if (syscallName(abi, nr) !== undefined) out.push(wire);
  }
  return out;
}

/** The answer of explainSyscall(). */
export interface SyscallExplanation extends FilterRun {
  abi: SeccompAbi;
  syscall: string;
  /** The number in seccomp_data.nr (with X32_SYSCALL_BIT for x32). */
  nr: number;
  /** Why, when a policy is known: the rule that decided, the default, or the bad-arch action. */
  reason?: 'rule' | 'default' | 'bad-arch';
  /** The deciding rule's option path, such as 'seccomp.rules[3]'. */
  rule?: string;
  /** One line: 'mount (x86_64 165): errno EPERM (1), by the default action', with the rule's comment if it has one. */
  text: string;
}

function isPolicyLike(value: unknown): value is SeccompPolicy {
  return typeof value === 'object' && value !== null && !(value instanceof Uint8Array) && !Array.isArray(value) && !('instructions' in value);
}

/**
 * What a policy or filter does to one syscall on one ABI, with these arguments: "what
 * would happen to mount under this profile". A policy is compiled for the machine of
 * `abi` (x86_64 for i386 and x32) and the answer comes from running the BPF; the rule
 * that decided comes from the policy. Throws ISO_INVALID_OPTIONS for a name the ABI lacks.
 */
export function explainSyscall(
  target: SeccompPolicy | FilterInput,
  abi: SeccompAbi,
  call: string | { syscall: string | number; args?: readonly (bigint | number)[]; instructionPointer?: bigint | number },
): SyscallExplanation {
  const request = typeof call === 'string' ? { syscall: call } : call;
  const arch: Arch = archOfAbi(abi);
  const filter: FilterInput = isPolicyLike(target) ? compilePolicy(target, arch) : target;
  let nr: number;
  let name: string;
  if (typeof request.syscall === 'number') {
    nr = request.syscall >>> 0;
    name = syscallName(abi, abi === 'x32' ? (nr & ~X32_SYSCALL_BIT) >>> 0 : nr) ?? `syscall ${nr}`;
  } else {
    const found = wireNumber(abi, request.syscall);
    if (found === undefined) throw invalidOptions('syscall', `no syscall ${describeValue(request.syscall)} on ${abi}`);
    [nr, name] = [found, request.syscall];
  }
  const data: SeccompData = { nr, arch: auditArchOf(abi), args: request.args ?? [] };
  if (request.instructionPointer !== undefined) data.instructionPointer = request.instructionPointer;
  const run = runFilter(filter, data);
  const out: SyscallExplanation = { ...run, abi, syscall: name, nr, text: '' };
  let why = '';
  const policy: NormalizedPolicy | undefined = !(filter instanceof Uint8Array) && 'policy' in filter ? filter.policy : undefined;
  if (policy && !(filter instanceof Uint8Array) && 'arch' in filter) {
    const verdict = evaluatePolicy(policy, filter.arch, { auditArch: data.arch, nr, args: data.args ?? [] });
    out.reason = verdict.reason;
    if (verdict.rule) out.rule = verdict.rule.path;
    const comment = verdict.rule?.comment === undefined ? '' : ` (${verdict.rule.comment})`;
    why = verdict.reason === 'rule' ? `, by ${verdict.rule?.path ?? 'a rule'}${comment}` : verdict.reason === 'default' ? ', by the default action' : ', by the bad-arch action';
  }
  const shownArgs = request.args?.length ? `(${request.args.map((v) => `0x${BigInt.asUintN(64, BigInt(v)).toString(16)}`).join(', ')})` : '';
  out.text = `${name}${shownArgs} (${abi} ${nr}): ${formatAction(run.value)}${why}`;
  return out;
}
