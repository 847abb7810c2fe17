// Classic BPF as seccomp uses it: the instruction encoding (struct sock_filter), the
// layout of struct seccomp_data that filters read, the AUDIT_ARCH values and a disassembler.
// Values come from include/uapi/linux/{filter,bpf_common,seccomp,audit,elf-em}.h.

/** Opcode parts of classic BPF (include/uapi/linux/bpf_common.h). */
export const BPF = {
  // instruction classes
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  RET: 0x06,
  MISC: 0x07,
  // ld/ldx size and mode
  W: 0x00,
  H: 0x08,
  B: 0x10,
  IMM: 0x00,
  ABS: 0x20,
  IND: 0x40,
  MEM: 0x60,
  LEN: 0x80,
  MSH: 0xa0,
  // alu operations
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90,
  XOR: 0xa0,
  // jumps
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  // operand source
  K: 0x00,
  X: 0x08,
  A: 0x10,
  // misc
  TAX: 0x00,
  TXA: 0x80,
} as const;

/** The kernel's limit on a classic BPF program (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;

/** Bytes per struct sock_filter: u16 code, u8 jt, u8 jf, u32 k. */
export const SOCK_FILTER_SIZE = 8;

/** One struct sock_filter. */
export interface BpfInstruction {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** Offsets into struct seccomp_data, the only memory a seccomp filter can read. */
export const SECCOMP_DATA = {
  nr: 0,
  arch: 4,
  instructionPointer: 8,
  args: 16,
  size: 64,
} as const;

/** Offset of the low 32 bits of argument `index` (both architectures are little-endian). */
export function argLow(index: number): number {
  return SECCOMP_DATA.args + 8 * index;
}

/** Offset of the high 32 bits of argument `index`. */
export function argHigh(index: number): number {
  return SECCOMP_DATA.args + 8 * index + 4;
}

/**
 * seccomp_data.arch values (AUDIT_ARCH_*). x32 has no value of its own: its calls carry
 * AUDIT_ARCH_X86_64 and set X32_SYSCALL_BIT in the syscall number.
 */
export const AUDIT_ARCH = {
  x86_64: 0xc000003e,
  i386: 0x40000003,
  aarch64: 0xc00000b7,
  arm: 0x40000028,
} as const;

/** Set in the number of every x32 syscall (arch/x86/include/uapi/asm/unistd.h). */
export const X32_SYSCALL_BIT = 0x40000000;

/** A filter's instructions as the bytes of a struct sock_filter array, ready for the kernel. */
export function encodeFilter(instructions: readonly BpfInstruction[]): Buffer {
  const out = Buffer.alloc(instructions.length * SOCK_FILTER_SIZE);
  instructions.forEach((insn, i) => {
    const at = i * SOCK_FILTER_SIZE;
    out.writeUInt16LE(insn.code, at);
    out.writeUInt8(insn.jt, at + 2);
    out.writeUInt8(insn.jf, at + 3);
    out.writeUInt32LE(insn.k >>> 0, at + 4);
  });
  return out;
}

/** The instructions in a struct sock_filter array. Throws RangeError if the size is not a multiple of 8. */
export function decodeFilter(bytes: Uint8Array): BpfInstruction[] {
  if (bytes.length % SOCK_FILTER_SIZE !== 0) throw new RangeError(`a BPF program is a multiple of ${SOCK_FILTER_SIZE} bytes, got ${bytes.length}`);
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const out: BpfInstruction[] = [];
  for (let at = 0; at < view.length; at += SOCK_FILTER_SIZE)
    out.push({ code: view.readUInt16LE(at), jt: view.readUInt8(at + 2), jf: view.readUInt8(at + 3), k: view.readUInt32LE(at + 4) });
  return out;
}

// Disassembly, in the spirit of the kernel's bpf_dbg and libseccomp's scmp_bpf_disasm.

function hex(value: number): string {
  return `0x${(value >>> 0).toString(16)}`;
}

function dataName(offset: number): string {
  if (offset === SECCOMP_DATA.nr) return 'nr';
  if (offset === SECCOMP_DATA.arch) return 'arch';
  if (offset === SECCOMP_DATA.instructionPointer) return 'ip.lo';
  if (offset === SECCOMP_DATA.instructionPointer + 4) return 'ip.hi';
  if (offset >= SECCOMP_DATA.args && offset < SECCOMP_DATA.size) {
    const index = Math.floor((offset - SECCOMP_DATA.args) / 8);
    return `args[${index}].${(offset - SECCOMP_DATA.args) % 8 === 0 ? 'lo' : 'hi'}`;
  }
  return `[${offset}]`;
}

const ALU_NAMES: Readonly<Record<number, string>> = {
  [BPF.ADD]: 'add',
  [BPF.SUB]: 'sub',
  [BPF.MUL]: 'mul',
  [BPF.DIV]: 'div',
  [BPF.OR]: 'or',
  [BPF.AND]: 'and',
  [BPF.LSH]: 'lsh',
  [BPF.RSH]: 'rsh',
  [BPF.MOD]: 'mod',
  [BPF.XOR]: 'xor',
};

const JUMP_NAMES: Readonly<Record<number, string>> = { [BPF.JEQ]: 'jeq', [BPF.JGT]: 'jgt', [BPF.JGE]: 'jge', [BPF.JSET]: 'jset' };

/** One instruction as text; `at` is its index, so jump targets print as absolute lines. */
export function formatInstruction(insn: BpfInstruction, at: number, formatReturn: (value: number) => string = hex): string {
  const cls = insn.code & 0x07;
  const operand = (insn.code & BPF.X) === BPF.X ? 'x' : `#${hex(insn.k)}`;
  switch (cls) {
    case BPF.LD:
    case BPF.LDX: {
      const reg = cls === BPF.LD ? 'ld' : 'ldx';
      const mode = insn.code & 0xe0;
      if (mode === BPF.ABS && (insn.code & 0x18) === BPF.W) return `${reg}  ${dataName(insn.k)}`;
      if (mode === BPF.IMM) return `${reg}  #${hex(insn.k)}`;
      if (mode === BPF.MEM) return `${reg}  M[${insn.k}]`;
      if (mode === BPF.LEN) return `${reg}  #len`;
      return `${reg}  ?code ${hex(insn.code)}`;
    }
    case BPF.ST:
      return `st   M[${insn.k}]`;
    case BPF.STX:
      return `stx  M[${insn.k}]`;
    case BPF.ALU: {
      const op = insn.code & 0xf0;
      if (op === BPF.NEG) return 'neg';
      return `${ALU_NAMES[op] ?? '?alu'}  ${operand}`;
    }
    case BPF.JMP: {
      const op = insn.code & 0xf0;
      if (op === BPF.JA) return `ja   ${at + 1 + insn.k}`;
      return `${(JUMP_NAMES[op] ?? '?jmp').padEnd(4)} ${operand.padEnd(12)} jt ${at + 1 + insn.jt}  jf ${at + 1 + insn.jf}`;
    }
    case BPF.RET:
      return (insn.code & 0x18) === BPF.A ? 'ret  a' : `ret  ${formatReturn(insn.k)}`;
    case BPF.MISC:
      return (insn.code & 0xf8) === BPF.TXA ? 'txa' : 'tax';
    default:
      return `?code ${hex(insn.code)}`;
  }
}
