// The wire format between Node and the runner: the one source of truth. The C header
// runner/wire.h is rendered from this file (renderWireHeader) and a test keeps them equal.

export const WIRE_MAGIC = 0x314f5349; // "ISO1" in little-endian bytes
export const WIRE_VERSION = 1;
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
/** The runner's control channel: program in, sync acks in, messages out. */
export const CONTROL_FD = 3;
/**
 * Optional: a socket on which the program hands fds back to Node (OP_SEND_FD), such as a
 * seccomp listener. Node passes it only when the program sends something.
 */
export const RETURN_FD = 4;

/** Header field offsets (all little-endian). */
export const HeaderField = {
  magic: 0, // u32
  version: 4, // u16
  headerSize: 6, // u16
  totalSize: 8, // u32
  stepCount: 12, // u32
  relocOffset: 16, // u32
  relocCount: 20, // u32
  arenaOffset: 24, // u32
  arenaSize: 28, // u32
} as const;

/** Step field offsets. */
export const StepField = {
  op: 0, // u16
  flags: 2, // u16, reserved, must be 0
  resultSlot: 4, // u16, NO_SLOT for none
  skip: 6, // u16, steps to skip when a tolerated errno happens
  nr: 8, // u32, syscall number or op argument
  argKinds: 12, // u32, 4 bits per argument
  tolerated: 16, // u16[4], zero-terminated
  args: 24, // u64[6]
} as const;

export const Op = {
  syscall: 1,
  forkSupervise: 2,
  sync: 3,
  dieWithParent: 4,
  forkHelper: 5,
  sendFd: 6,
} as const;
export type OpCode = (typeof Op)[keyof typeof Op];

export const ArgKind = {
  none: 0,
  immediate: 1,
  arena: 2,
  slot: 3,
} as const;
export type ArgKindCode = (typeof ArgKind)[keyof typeof ArgKind];

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

function defines(prefix: string, table: Record<string, number>): string[] {
  return Object.entries(table).map(
    ([name, value]) => `#define ${prefix}${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()} ${value}`,
  );
}

/** The C view of this file, written to runner/wire.h. */
export function renderWireHeader(): string {
  const lines = [
    '/* Generated from packages/core/src/wire.ts by renderWireHeader(); do not edit. */',
    '#pragma once',
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
    `#define CONTROL_FD ${CONTROL_FD}`,
    `#define RETURN_FD ${RETURN_FD}`,
    ...defines('HDR_', HeaderField),
    ...defines('STEP_', StepField),
    ...defines('OP_', Op),
    ...defines('ARG_', ArgKind),
    ...defines('MSG_', MessageType),
    ...defines('PROTO_', ProtocolError),
    ...defines('EXIT_', RunnerExit),
  ];
  return lines.join('\n') + '\n';
}
