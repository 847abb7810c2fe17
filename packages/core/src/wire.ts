// The wire format between Node and the runner: the one source of truth. The C header
// runner/wire.h is rendered from this file (renderWireHeader) and a test keeps them equal.
// The per-op rules (OP_RULES) are data here too: the runner's validator and
// validateProgram() both read them, so each rule is written once.

export const WIRE_MAGIC = 0x314f5349; // "ISO1" in little-endian bytes
export const WIRE_VERSION = 2;
export const HEADER_SIZE = 32;
export const STEP_SIZE = 72;
export const MESSAGE_SIZE = 16;
export const ACK_SIZE = 8;
export const MAX_PROGRAM_SIZE = 16 * 1024 * 1024;
export const MAX_STEPS = 4096;
export const MAX_SLOTS = 32;
export const MAX_TOLERATED = 4;
export const MAX_SYSCALL_NR = 1024;
export const MAX_ERRNO = 4095;
export const NO_SLOT = 0xffff;

/**
 * Every fd number the runner and the plans agree on. Anything else a program uses is a
 * saved result. A new entry needs a reason why a saved result cannot do.
 */
export const FixedFd = {
  /** The runner's control channel: program in, sync acks in, messages out. Close-on-exec. */
  control: 3,
  /**
   * The return channel: a socket on which steps hand fds to Node with sendmsg(SCM_RIGHTS),
   * such as a seccomp listener. Node passes it only when a plan asks for it.
   */
  returnChannel: 4,
  /**
   * A scratch fd that a step names by path, /proc/self/fd/100, where a call takes a path
   * and no fd (mount's remount walk below Linux 5.12): a saved result cannot go into a
   * path string. Set with dup3 right before the call and closed right after it.
   */
  byPath: 100,
} as const;

type FieldType = 'u16' | 'u32' | 'u64';
type Field = readonly [name: string, type: FieldType, count?: number];
const FIELD_BYTES: Readonly<Record<FieldType, number>> = { u16: 2, u32: 4, u64: 8 };

/** Offsets of a packed little-endian layout with natural alignment; the C struct has the same. */
function offsetsOf<const F extends readonly Field[]>(fields: F): Readonly<Record<F[number][0], number>> {
  const offsets: Record<string, number> = {};
  let at = 0;
  for (const [name, type, count = 1] of fields) {
    at = Math.ceil(at / FIELD_BYTES[type]) * FIELD_BYTES[type];
    offsets[name] = at;
    at += FIELD_BYTES[type] * count;
  }
  return offsets as Record<F[number][0], number>;
}

const HEADER_FIELDS = [
  ['magic', 'u32'],
  ['version', 'u16'],
  ['headerSize', 'u16'],
  ['totalSize', 'u32'],
  ['stepCount', 'u32'],
  ['relocOffset', 'u32'],
  ['relocCount', 'u32'],
  ['arenaOffset', 'u32'],
  ['arenaSize', 'u32'],
] as const satisfies readonly Field[];

const STEP_FIELDS = [
  ['op', 'u16'],
  /** Bits of StepFlag that the op allows. */
  ['flags', 'u16'],
  /** NO_SLOT for none. */
  ['resultSlot', 'u16'],
  /** Steps to skip when a tolerated errno happens. */
  ['skip', 'u16'],
  /** The syscall number, or the op's argument. */
  ['nr', 'u32'],
  /** 4 bits (an ArgKind) per argument. */
  ['argKinds', 'u32'],
  /** Zero-terminated. */
  ['tolerated', 'u16', MAX_TOLERATED],
  ['args', 'u64', 6],
] as const satisfies readonly Field[];

/** Header field offsets (all little-endian). */
export const HeaderField = offsetsOf(HEADER_FIELDS);
/** Step field offsets. */
export const StepField = offsetsOf(STEP_FIELDS);

export const Op = {
  /** A raw syscall: nr is its number, args its arguments. */
  syscall: 1,
  /** fork(). The parent supervises; with StepFlag.helper the child runs the next nr steps and exits, and the parent skips them. */
  fork: 2,
  /** Stop until Node answers sync point nr. */
  sync: 3,
  /** PR_SET_PDEATHSIG with signal nr; fail if the parent (args[0], or the one at fork) is gone. */
  dieWithParent: 4,
  /** Copy the low nr bytes of a saved result (args[0]) into the arena at args[1], little-endian: an fd into a struct. */
  store: 5,
} as const;
export type OpName = keyof typeof Op;
export type OpCode = (typeof Op)[OpName];

export const StepFlag = {
  /** On a fork: the child is a short-lived helper for the next nr steps. */
  helper: 1,
} as const;

export const ArgKind = {
  none: 0,
  immediate: 1,
  arena: 2,
  slot: 3,
} as const;
export type ArgKindCode = (typeof ArgKind)[keyof typeof ArgKind];

/** What one op allows. Checked for every step before the first one runs. */
export interface OpRule {
  /** The range of nr, inclusive. */
  readonly nrMin: number;
  readonly nrMax: number;
  /** Per argument, the kinds allowed, as a bit set of `1 << ArgKind`. A 'none' argument must be 0. */
  readonly args: readonly [number, number, number, number, number, number];
  /** It may keep its result in a slot. */
  readonly saves: boolean;
  /** It may tolerate errnos and skip steps on them. */
  readonly tolerates: boolean;
  /** The StepFlag bits it may carry. */
  readonly flags: number;
  /** It may run inside a helper's range. */
  readonly inHelper: boolean;
  /** Its arena argument is written nr bytes long, which must fit in the arena. */
  readonly writesNr: boolean;
}

const NONE = 1 << ArgKind.none;
const VALUE = (1 << ArgKind.none) | (1 << ArgKind.immediate) | (1 << ArgKind.arena) | (1 << ArgKind.slot);
const noArgs = [NONE, NONE, NONE, NONE, NONE, NONE] as const;

export const OP_RULES: Readonly<Record<OpName, OpRule>> = {
  syscall: { nrMin: 0, nrMax: MAX_SYSCALL_NR - 1, args: [VALUE, VALUE, VALUE, VALUE, VALUE, VALUE], saves: true, tolerates: true, flags: 0, inHelper: true, writesNr: false },
  // nr is 0 for a supervising fork and the helper's step count with StepFlag.helper (checked apart).
  fork: { nrMin: 0, nrMax: MAX_STEPS, args: noArgs, saves: true, tolerates: false, flags: StepFlag.helper, inHelper: false, writesNr: false },
  // Not in a helper: the helper and its parent would both wait for acks on the one channel.
  sync: { nrMin: 0, nrMax: 0xffff, args: noArgs, saves: false, tolerates: false, flags: 0, inHelper: false, writesNr: false },
  dieWithParent: { nrMin: 1, nrMax: 64, args: [NONE | (1 << ArgKind.immediate), NONE, NONE, NONE, NONE, NONE], saves: false, tolerates: false, flags: 0, inHelper: true, writesNr: false },
  store: { nrMin: 1, nrMax: 8, args: [1 << ArgKind.slot, 1 << ArgKind.arena, NONE, NONE, NONE, NONE], saves: false, tolerates: false, flags: 0, inHelper: true, writesNr: true },
};

/** The rule for an op code, or undefined for an unknown op. */
export function opRule(code: number): OpRule | undefined {
  for (const [name, value] of Object.entries(Op)) if (value === code) return OP_RULES[name as OpName];
  return undefined;
}

export const MessageType = {
  sync: 1,
  stepFailed: 2,
  protocol: 3,
  /** Written by an announceExec step (a plain write): only the last steps and execve are left. */
  execNext: 4,
} as const;

/** Why the runner rejected a program. Each names the first rule that failed. */
export const ProtocolError = {
  truncated: 1,
  magic: 2,
  version: 3,
  header: 4,
  size: 5,
  layout: 6,
  reloc: 7,
  op: 8,
  step: 9,
  arg: 10,
  slot: 11,
  io: 12,
  usage: 13,
} as const;
export type ProtocolErrorCode = (typeof ProtocolError)[keyof typeof ProtocolError];

export function protocolErrorName(code: number): string {
  for (const [name, value] of Object.entries(ProtocolError)) if (value === code) return name;
  return `unknown(${code})`;
}

/** Exit codes of the runner itself. */
export const RunnerExit = {
  stepFailed: 127,
  protocol: 125,
  aborted: 126,
} as const;

const macroName = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

function defines(prefix: string, table: Record<string, number>): string[] {
  return Object.entries(table).map(([name, value]) => `#define ${prefix}${macroName(name)} ${value}`);
}

/** A layout as a C struct, with asserts that the compiler agrees on its size. */
function renderStruct(name: string, fields: readonly Field[], size: number): string[] {
  const members = fields.map(([field, type, count]) => `  uint${FIELD_BYTES[type] * 8}_t ${macroName(field).toLowerCase()}${count === undefined ? '' : `[${count}]`};`);
  return [`struct ${name} {`, ...members, '};', `_Static_assert(sizeof(struct ${name}) == ${size}, "${name} layout");`];
}

/** OP_RULES as a C array indexed by op code. */
function renderRules(): string[] {
  const codes = Object.values(Op);
  const lines = [
    'struct op_rule {',
    '  unsigned nr_min, nr_max;',
    '  unsigned char args[6];',
    '  unsigned char known, saves, tolerates, flags, in_helper, writes_nr;',
    '};',
    `static const struct op_rule OP_RULES[${Math.max(...codes) + 1}] = {`,
  ];
  for (const [name, code] of Object.entries(Op)) {
    const r = OP_RULES[name as OpName];
    const bit = (b: boolean) => (b ? 1 : 0);
    lines.push(
      `  [OP_${macroName(name)}] = {${r.nrMin}u, ${r.nrMax}u, {${r.args.join(', ')}}, 1, ${bit(r.saves)}, ${bit(r.tolerates)}, ${r.flags}, ${bit(r.inHelper)}, ${bit(r.writesNr)}}, /* ${code} */`,
    );
  }
  lines.push('};', `#define OP_LIMIT ${Math.max(...codes) + 1}u`);
  return lines;
}

/** The C view of this file, written to runner/wire.h. */
export function renderWireHeader(): string {
  const lines = [
    '/* Generated from packages/core/src/wire.ts by renderWireHeader(); do not edit. */',
    '#pragma once',
    '#include <stdint.h>',
    `#define WIRE_MAGIC 0x${WIRE_MAGIC.toString(16)}u`,
    `#define WIRE_VERSION ${WIRE_VERSION}`,
    `#define HEADER_SIZE ${HEADER_SIZE}`,
    `#define STEP_SIZE ${STEP_SIZE}`,
    `#define MESSAGE_SIZE ${MESSAGE_SIZE}`,
    `#define ACK_SIZE ${ACK_SIZE}`,
    `#define MAX_PROGRAM_SIZE ${MAX_PROGRAM_SIZE}u`,
    `#define MAX_STEPS ${MAX_STEPS}u`,
    `#define MAX_SLOTS ${MAX_SLOTS}u`,
    `#define MAX_TOLERATED ${MAX_TOLERATED}`,
    `#define MAX_SYSCALL_NR ${MAX_SYSCALL_NR}u`,
    `#define MAX_ERRNO ${MAX_ERRNO}`,
    `#define NO_SLOT 0x${NO_SLOT.toString(16)}u`,
    ...defines('FD_', FixedFd),
    ...defines('OP_', Op),
    ...defines('FLAG_', StepFlag),
    ...defines('ARG_', ArgKind),
    ...defines('MSG_', MessageType),
    ...defines('PROTO_', ProtocolError),
    ...defines('EXIT_', RunnerExit),
    ...renderStruct('header', HEADER_FIELDS, HEADER_SIZE),
    ...renderStruct('step', STEP_FIELDS, STEP_SIZE),
    ...renderRules(),
  ];
  return lines.join('\n') + '\n';
}
